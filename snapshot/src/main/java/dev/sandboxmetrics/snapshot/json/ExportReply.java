package dev.sandboxmetrics.snapshot.json;

import dev.sandboxmetrics.snapshot.Snapshot;

/**
 * A decoded uRPC reply to {@code Metrics.Export}: {@code {"success":true,"err":"","result":{"snapshot":...}}}.
 * When {@code success} is false, {@code err} holds the sandbox's message and {@code snapshot} is null.
 */
public record ExportReply(boolean success, String err, Snapshot snapshot) {}
