// BERT SRL (Shi & Lin, 2019) fine-tuned from a Hugging Face checkpoint folder: the counterpart of
// allennlp-models' bert_base_srl.jsonnet, with the same hyperparameters. One run writes the
// AllenNLP archive (model.tar.gz) and the Hugging Face export (hf_model/, also inside the archive).
//
//   SRL_TRAIN_DATA_PATH=.../conll2012/train SRL_VALIDATION_DATA_PATH=.../conll2012/dev \
//   BERT_MODEL=/path/to/bert-checkpoint \
//   allennlp train training_configs/srl.jsonnet -s OUT --include-package srl_plugin
local bert_model = std.extVar("BERT_MODEL");

{
  "dataset_reader": {
    "type": "hf_srl",
    "bert_model": bert_model,
  },
  "data_loader": {
    "batch_sampler": {
      "type": "bucket",
      "batch_size": 32,
    },
  },
  "train_data_path": std.extVar("SRL_TRAIN_DATA_PATH"),
  "validation_data_path": std.extVar("SRL_VALIDATION_DATA_PATH"),
  // Data with rolesets (CoNLL-2012 column 8, as in EWT PropBank) gives the model a sense head,
  // trained jointly: "sense_head": false leaves it out.
  "model": {
    "type": "hf_srl",
    "bert_model": bert_model,
    "classifier_dropout": 0.1,
  },
  "trainer": {
    "optimizer": {
      "type": "huggingface_adamw",
      "lr": 5e-5,
      "correct_bias": false,
      "weight_decay": 0.01,
      "parameter_groups": [
        // (".*" before the head's name: distributed training prefixes "module.")
        [["^(?!.*sense_classifier\\.).*bias", "LayerNorm.weight", "layer_norm.weight"], {"weight_decay": 0.0}],
        // The sense head is a new layer with a row per roleset (3,105 in EWT train), most of
        // them rare: it learns faster than the encoder, as new task layers usually do.
        [["sense_classifier\\."], {"lr": 2e-3, "weight_decay": 0.0}],
      ],
    },
    "learning_rate_scheduler": {
      "type": "slanted_triangular",
    },
    "checkpointer": {
      "keep_most_recent_by_count": 2,
    },
    "callbacks": [
      {"type": "hf_export"},
    ],
    "grad_norm": 1.0,
    "num_epochs": 15,
    "validation_metric": "+f1-measure-overall",
  },
  // The export inside model.tar.gz makes the archive self-contained.
  "include_in_archive": ["hf_model"],
}
