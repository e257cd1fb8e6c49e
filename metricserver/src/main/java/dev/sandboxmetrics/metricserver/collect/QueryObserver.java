package dev.sandboxmetrics.metricserver.collect;

/**
 * Told by the {@link Collector} about each sandbox query it made, when its result is known: the status page
 * and the self-metrics record outcomes and durations through it. A query shared by concurrent scrapes is
 * reported once. Called on worker threads and event loops: implementations must be cheap and thread-safe.
 */
@FunctionalInterface
public interface QueryObserver {
  /** Observes nothing. */
  QueryObserver NONE = (result, nanos) -> {};

  /**
   * @param result what the query gave
   * @param nanos how long it took, from its start (or its turn, when queries wait for a free slot) to the
   *     verified result
   */
  void queried(SandboxResult result, long nanos);
}
