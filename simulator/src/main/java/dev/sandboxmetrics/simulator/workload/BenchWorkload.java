package dev.sandboxmetrics.simulator.workload;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.golang.GoJsonWriter;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code bench} profile: the project's benchmark workload ({@code testdata/bench/}, which the build
 * bundles into this module's jar): 175 data points (160 counters, 13 gauges, 2 histograms of 22 buckets), the same values on
 * every call with a fresh time. Replies are assembled from pre-encoded data points, so that a thousand
 * simulated sandboxes cost the benchmark's machine little CPU.
 *
 * <p>Also the one loader of that workload for the JMH benchmarks ({@link #registrationJson},
 * {@link #snapshotJson}), so that they and the simulator measure the same bytes.
 */
public final class BenchWorkload extends Workload {
  private static final String REGISTRATION_FILE = "registration-175.json";
  private static final String SNAPSHOT_FILE = "snapshot-175.json";
  private static final Registration REGISTRATION = decode(REGISTRATION_FILE, RunscJson::readRegistration);
  private static final Snapshot SNAPSHOT = decode(SNAPSHOT_FILE, RunscJson::readSnapshot);
  private static final byte[][] ENCODED = encodeAll(SNAPSHOT.data());
  private static final byte[] PREFIX =
      "{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{\"when\":\"".getBytes(StandardCharsets.UTF_8);
  private static final byte[] DATA = "\",\"data\":[".getBytes(StandardCharsets.UTF_8);
  private static final byte[] END_WITH_DATA = "]}}}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] END_WITHOUT_DATA = "\"}}}".getBytes(StandardCharsets.UTF_8);

  // Shared until this sandbox's counter-decrease fault changes a value; then copied.
  private List<DataPoint> points = SNAPSHOT.data();
  private byte[][] encoded = ENCODED;
  private byte[] allPoints;

  /** {@code testdata/bench/registration-175.json}, as bundled. */
  public static byte[] registrationJson() {
    return resource(REGISTRATION_FILE);
  }

  /** {@code testdata/bench/snapshot-175.json}, as bundled. */
  public static byte[] snapshotJson() {
    return resource(SNAPSHOT_FILE);
  }

  private static byte[] resource(String name) {
    try (InputStream in = BenchWorkload.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the simulator's jar lacks its resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("reading the simulator's resource " + name, e);
    }
  }

  /** A decoder of {@link RunscJson}. */
  private interface Decoder<T> {
    T decode(byte[] json, int off, int len) throws RunscJsonException;
  }

  // The bundled files are ours and valid; the codec the product uses reads them.
  private static <T> T decode(String file, Decoder<T> decoder) {
    byte[] json = resource(file);
    try {
      return decoder.decode(json, 0, json.length);
    } catch (RunscJsonException e) {
      throw new IllegalStateException(file + " does not decode: " + e.getMessage(), e);
    }
  }

  @Override
  public Registration registration() {
    return REGISTRATION;
  }

  @Override
  public void advance() {
    // The benchmark serves the same values every time: only the snapshot time changes.
  }

  @Override
  public Snapshot snapshot(Instant when, MetricNameFilter filter) {
    if (filter.isAll()) {
      return new Snapshot(when, points);
    }
    List<DataPoint> kept = new ArrayList<>();
    for (DataPoint d : points) {
      if (filter.matches(d.metric().name())) {
        kept.add(d);
      }
    }
    return new Snapshot(when, kept);
  }

  @Override
  public byte[] exportReply(Instant when, ZoneId zone, MetricNameFilter filter) {
    byte[] time = RunscTime.formatRfc3339Nano(when, zone).getBytes(StandardCharsets.UTF_8);
    byte[] data;
    if (filter.isAll()) {
      if (allPoints == null) {
        allPoints = join(encoded, null, filter);
      }
      data = allPoints;
    } else {
      data = join(encoded, points, filter);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(PREFIX.length + time.length + data.length + 16);
    out.writeBytes(PREFIX);
    out.writeBytes(time);
    if (data.length == 0) {
      out.writeBytes(END_WITHOUT_DATA);
    } else {
      out.writeBytes(DATA);
      out.writeBytes(data);
      out.writeBytes(END_WITH_DATA);
    }
    return out.toByteArray();
  }

  @Override
  public String decreaseCounter() {
    for (int i = 0; i < points.size(); i++) {
      DataPoint d = points.get(i);
      if (d.metric().type() == MetricType.COUNTER
          && d.value() != null
          && d.value().isInteger()
          && d.value().longValue() > 1) {
        long v = d.value().longValue();
        DataPoint lowered =
            new DataPoint(d.metric(), d.labels(), d.externalLabels(), Value.ofInt(v - Math.max(1, v / 10)), null);
        points = new ArrayList<>(points);
        points.set(i, lowered);
        encoded = encoded.clone();
        encoded[i] = encode(lowered);
        allPoints = null;
        return d.metric().name();
      }
    }
    return null;
  }

  /** The pre-encoded points the filter keeps, comma-separated; {@code names} null means keep all. */
  private static byte[] join(byte[][] encoded, List<DataPoint> names, MetricNameFilter filter) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(24 * 1024);
    boolean first = true;
    for (int i = 0; i < encoded.length; i++) {
      if (names != null && !filter.matches(names.get(i).metric().name())) {
        continue;
      }
      if (!first) {
        out.write(',');
      }
      out.writeBytes(encoded[i]);
      first = false;
    }
    return out.toByteArray();
  }

  private static byte[][] encodeAll(List<DataPoint> data) {
    byte[][] out = new byte[data.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = encode(data.get(i));
    }
    return out;
  }

  private static byte[] encode(DataPoint d) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = GoJsonWriter.generator(out)) {
      GoJsonWriter.writeDataPoint(g, d);
    } catch (IOException e) {
      throw new UncheckedIOException("encoding a data point in memory", e);
    }
    return out.toByteArray();
  }
}
