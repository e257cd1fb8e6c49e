package dev.sandboxmetrics.metricserver.status;

import java.time.Instant;

/**
 * One row of the status page: what the server knows about one sandbox right now. Strings other than the
 * state's words come from state files or sandboxes and are untrusted: every renderer escapes them.
 *
 * @param podName "" when not a Kubernetes pod (or not known)
 * @param namespace "" when not known
 * @param iteration "" when not known (the state file was not read)
 * @param pid 0 when not known
 * @param error why it gives no data, in plain words; "" when it does (or was not queried yet)
 * @param reason the kind of the last query's failure, or null
 * @param lastQueryNanos how long the last query took; -1 before the first
 * @param replyBytes the size of its last complete reply; -1 when none yet
 * @param series the number of series (exposition lines) its last good snapshot gave; -1 before one
 * @param lastServed when its data was last served; null if never (by this incarnation)
 * @param lastQueried when it was last queried; null if never
 */
public record SandboxRow(
    String id,
    String podName,
    String namespace,
    String iteration,
    long pid,
    SandboxState state,
    String error,
    FailureReason reason,
    long lastQueryNanos,
    long replyBytes,
    long series,
    Instant lastServed,
    Instant lastQueried) {}
