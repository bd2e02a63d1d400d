// The README's demo: srl.jsonnet on a budget that fits about five minutes of two CPU cores.
// The same extVars as srl.jsonnet; DEMO_TRAIN_INSTANCES and DEMO_VALIDATION_INSTANCES cap the data.
local recipe = import "srl.jsonnet";
local train_instances = std.parseInt(std.extVar("DEMO_TRAIN_INSTANCES"));
local validation_instances = std.parseInt(std.extVar("DEMO_VALIDATION_INSTANCES"));

recipe + {
  "dataset_reader"+: {
    "max_instances": train_instances,
  },
  "validation_dataset_reader": recipe.dataset_reader + {
    "max_instances": validation_instances,
  },
  "data_loader"+: {
    "batch_sampler"+: {"batch_size": 16},
  },
  "trainer"+: {
    "optimizer"+: {"lr": 1e-4},
    "num_epochs": 1,
    "checkpointer": {"keep_most_recent_by_count": 1},
  },
}
