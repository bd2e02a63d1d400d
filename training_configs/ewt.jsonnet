// The model behind the README's sense example: srl.jsonnet on all of EWT PropBank train for two
// epochs (about two hours on two CPU cores; `make ewt-model`).
local recipe = import "srl.jsonnet";

recipe + {
  "trainer"+: {
    "num_epochs": 2,
    // A checkpoint every 15 minutes: `make ewt-model` (allennlp train --recover) goes on from it.
    "checkpointer": {"keep_most_recent_by_count": 1, "save_every_num_seconds": 900},
  },
}
