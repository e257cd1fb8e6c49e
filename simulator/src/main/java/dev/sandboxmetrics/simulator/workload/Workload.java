package dev.sandboxmetrics.simulator.workload;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.golang.GoJsonWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneId;

/**
 * The metrics inside one simulated sandbox: what it registered at boot, and values that evolve the way a
 * sandbox's do (counters only grow, gauges move, distributions accumulate samples). A sandbox endpoint calls
 * {@link #advance} once per export, then reads the values. Like runsc, snapshots leave out counters that are
 * zero and distributions without samples.
 *
 * <p>Not thread-safe: a sandbox's calls are all handled on its control socket's event loop.
 */
public abstract class Workload {
  /** The registration, identical in the state file and in {@code Metrics.GetRegisteredMetrics}. */
  public abstract Registration registration();

  /** Lets simulated time pass: called once per {@code Metrics.Export}, before the values are read. */
  public abstract void advance();

  /** The current values of the metrics the filter keeps, as a snapshot taken at {@code when}. */
  public abstract Snapshot snapshot(Instant when, MetricNameFilter filter);

  /**
   * Lowers the first non-zero counter by about a tenth, as a sandbox whose counter went backwards would
   * (the counter-decrease fault). Later exports report the lowered value, growing from there.
   *
   * @return the Prometheus name of the counter lowered, or null when there is none
   */
  public abstract String decreaseCounter();

  /**
   * The complete uRPC reply to {@code Metrics.Export} for the current values. Profiles with static data
   * override this with pre-encoded bytes; the bytes must equal what encoding {@link #snapshot} gives.
   */
  public byte[] exportReply(Instant when, ZoneId zone, MetricNameFilter filter) {
    return encodeExportReply(snapshot(when, filter), zone);
  }

  /** {@code {"success":true,"err":"","result":{"snapshot":...}}} as Go writes it. */
  public static byte[] encodeExportReply(Snapshot snapshot, ZoneId zone) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    try (JsonGenerator g = GoJsonWriter.generator(out)) {
      g.writeStartObject();
      g.writeBooleanField("success", true);
      g.writeStringField("err", "");
      g.writeObjectFieldStart("result");
      g.writeFieldName("snapshot");
      GoJsonWriter.writeSnapshot(g, snapshot, zone);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("encoding a snapshot in memory", e);
    }
    return out.toByteArray();
  }
}
