# A regular package, not a namespace one: fairscale (installed with AllenNLP) ships a top-level
# `benchmarks` package, which would otherwise win over this folder in `import benchmarks._common`.
