/** The DeepSpeed ZeRO config multi-GPU runs use; `auto` values are filled by the HF Trainer integration. */
export function deepSpeedConfig(stage: 2 | 3 = 2): Record<string, unknown> {
  return {
    train_batch_size: 'auto',
    train_micro_batch_size_per_gpu: 'auto',
    gradient_accumulation_steps: 'auto',
    gradient_clipping: 'auto',
    zero_allow_untested_optimizer: true,
    fp16: { enabled: 'auto' },
    bf16: { enabled: 'auto' },
    zero_optimization: {
      stage,
      overlap_comm: false,
      contiguous_gradients: true,
      reduce_bucket_size: 'auto',
      ...(stage === 3
        ? {
            stage3_prefetch_bucket_size: 'auto',
            stage3_param_persistence_threshold: 'auto',
            stage3_gather_16bit_weights_on_model_save: true,
          }
        : { allgather_partitions: true, reduce_scatter: true }),
    },
  };
}
