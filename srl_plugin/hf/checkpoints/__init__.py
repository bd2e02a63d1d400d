"""
Reading and writing checkpoints on the Hugging Face side: the export folder (`export`), the
surgery that turns a checkpoint into an SRL model (`building`), safe weight files (`weights`),
Hub ids in the local cache (`hub`), tokenizer files (`tokenizer_files`) and the model card
(`model_card`). Nothing here imports AllenNLP.
"""
