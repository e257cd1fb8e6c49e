package dev.sandboxmetrics.simulator;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.simulator.urpc.Answer;
import dev.sandboxmetrics.simulator.urpc.Call.JsonKind;
import dev.sandboxmetrics.simulator.urpc.Call;
import dev.sandboxmetrics.simulator.urpc.ControlHandler;
import dev.sandboxmetrics.simulator.workload.Workload;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.golang.GoJsonWriter;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The sandbox side of the control protocol for one simulated sandbox: answers {@code Metrics.Export} and
 * {@code Metrics.GetRegisteredMetrics} as runsc's controller does (including Go's error texts for bad
 * arguments and unknown methods), and misbehaves as its current {@link Fault} says. Calls arrive on the
 * sandbox's event loop thread only; the fault may be changed from any thread.
 */
final class SandboxEndpoint implements ControlHandler {
  static final String UNREGISTERED_METRIC = "simulated_unregistered_metric";
  static final String DISALLOWED_VALUE = "not-an-allowed-value";
  static final Duration FUTURE_SHIFT = Duration.ofHours(1);
  static final Duration TOO_OLD_SHIFT = Duration.ofMinutes(1);
  /** How long after its reply an {@code idle-byte} sandbox sends its byte. */
  static final Duration IDLE_BYTE_DELAY = Duration.ofMillis(50);

  private final String sandboxId;
  private final Workload workload;
  private final ZoneId zone;
  private final long slowDelayNanos;
  private final long oversizedBytes;
  private final byte[] registeredMetricsReply;
  private volatile Fault fault;
  private volatile PodStats podStats;

  SandboxEndpoint(String sandboxId, Workload workload, ZoneId zone, SandboxSpec spec) {
    this.sandboxId = sandboxId;
    this.workload = workload;
    this.zone = zone;
    this.slowDelayNanos = spec.slowDelay().toNanos();
    this.oversizedBytes = spec.oversizedBytes();
    this.fault = spec.fault();
    this.registeredMetricsReply = encodeRegisteredMetricsReply();
  }

  Fault fault() {
    return fault;
  }

  void setFault(Fault fault) {
    this.fault = fault;
  }

  /** Where {@code containerManager.Event} gets its numbers; set once the container IDs are known. */
  void setPodStats(PodStats stats) {
    this.podStats = stats;
  }

  @Override
  public Answer handle(Call call) {
    Fault f = fault;
    if (f.eventOnly()) {
      if (!Call.EVENT.equals(call.method())) {
        return Answer.reply(respond(call, Fault.NONE));
      }
      switch (f) {
        case EVENT_STALL:
          return Answer.stall();
        case EVENT_ERROR:
          return Answer.reply(errorReply("simulated failure of sandbox " + sandboxId + ": no stats"));
        case EVENT_GARBAGE:
          return Answer.reply(
              "{\"success\":true,\"err\":\"\",\"result\":{\"event\":{\"type\":\"stats\" \"id\":}}}"
                  .getBytes(StandardCharsets.UTF_8));
        default:
          return Answer.reply(respond(call, f));
      }
    }
    switch (f) {
      case STALL:
        return Answer.stall();
      case CLOSE:
        return Answer.close();
      case SLOW:
        return Answer.after(slowDelayNanos, () -> Answer.reply(respond(call, Fault.NONE)));
      case GARBAGE:
        return Answer.reply(garbage());
      case CLOSE_AFTER_REPLY:
        return Answer.replyThenClose(respond(call, Fault.NONE));
      case STRAY_BYTE:
        byte[] reply = respond(call, Fault.NONE);
        byte[] more = Arrays.copyOf(reply, reply.length + 1);
        more[reply.length] = '}';
        return Answer.reply(more);
      case IDLE_BYTE:
        return Answer.replyThenLater(respond(call, Fault.NONE), IDLE_BYTE_DELAY.toNanos(), new byte[] {'{'});
      case TRUNCATED:
        byte[] full = respond(call, Fault.NONE);
        return Answer.replyThenClose(Arrays.copyOf(full, full.length / 2));
      case ERROR:
        return Answer.reply(errorReply("simulated failure of sandbox " + sandboxId + ": metrics unavailable"));
      case HOSTILE_ERROR:
        return Answer.reply(errorReply(Fault.HOSTILE_ERROR_TEXT));
      case OVERSIZED:
        if (Call.EXPORT.equals(call.method()) && exportArgumentError(call) == null) {
          return Answer.stream(oversized(call));
        }
        return Answer.reply(respond(call, Fault.NONE));
      default:
        return Answer.reply(respond(call, f));
    }
  }

  /** The reply bytes for a call, with a content fault applied to exports. */
  private byte[] respond(Call call, Fault f) {
    switch (call.method()) {
      case Call.EXPORT:
        String error = exportArgumentError(call);
        if (error != null) {
          return errorReply(error);
        }
        MetricNameFilter filter = MetricNameFilter.compile(call.onlyMetrics());
        workload.advance();
        Instant now = Instant.now();
        if (!f.corruptsContent()) {
          return workload.exportReply(now, zone, filter);
        }
        return Workload.encodeExportReply(corrupt(f, now, filter), zone);
      case Call.EVENT:
        // containerManager.Event takes a *string: a JSON string (null leaves it "").
        if (call.arg() != JsonKind.STRING && call.arg() != JsonKind.NULL) {
          return errorReply(argumentError(call.arg(), "string"));
        }
        PodStats stats = podStats;
        if (stats == null) {
          return errorReply("no container was found");
        }
        return stats.eventReply(call.argString(), f);
      case Call.GET_REGISTERED_METRICS:
        String argError = argumentError(call.arg(), "control.GetRegisteredMetricsOpts");
        return argError != null ? errorReply(argError) : registeredMetricsReply;
      default:
        return errorReply("unknown method");
    }
  }

  /** What runsc would answer for the arguments of an export, or null when they are fine. */
  private static String exportArgumentError(Call call) {
    String error = argumentError(call.arg(), "control.MetricsExportOpts");
    if (error != null) {
      return error;
    }
    JsonKind om = call.onlyMetricsKind();
    if (om != JsonKind.STRING && om != JsonKind.NULL && om != JsonKind.MISSING) {
      return "json: cannot unmarshal " + om.goName()
          + " into Go struct field MetricsExportOpts.only_metrics of type string";
    }
    try {
      MetricNameFilter.compile(call.onlyMetrics());
    } catch (IllegalArgumentException e) {
      return "cannot compile regexp " + goQuote(call.onlyMetrics()) + ": " + e.getMessage();
    }
    return null;
  }

  /** Go's json.Unmarshal of the raw {@code arg} into the method's argument struct. */
  private static String argumentError(JsonKind arg, String goType) {
    switch (arg) {
      case MISSING:
        return "unexpected end of JSON input";
      case NULL:
      case OBJECT:
        return "string".equals(goType) && arg == JsonKind.OBJECT
            ? "json: cannot unmarshal object into Go value of type string" : null;
      default:
        return "json: cannot unmarshal " + arg.goName() + " into Go value of type " + goType;
    }
  }

  private Snapshot corrupt(Fault f, Instant now, MetricNameFilter filter) {
    switch (f) {
      case FUTURE:
        return workload.snapshot(now.plus(FUTURE_SHIFT), filter);
      case TOO_OLD:
        return workload.snapshot(now.minus(TOO_OLD_SHIFT), filter);
      case IGNORE_FILTER:
        return workload.snapshot(now, MetricNameFilter.ALL);
      case UNKNOWN_METRIC:
        return withExtra(
            workload.snapshot(now, filter),
            DataPoint.of(
                new Metric(UNREGISTERED_METRIC, MetricType.COUNTER, "A metric this sandbox never registered."),
                Labels.EMPTY,
                Value.ofInt(1)));
      case BAD_FIELD_VALUE:
        return withExtra(workload.snapshot(now, filter), disallowedFieldValue());
      case COUNTER_DECREASE:
        return counterDecrease(now, filter);
      case BAD_BUCKETS:
        return badBuckets(now, filter);
      default:
        throw new IllegalStateException("not a content fault: " + f);
    }
  }

  /** A data point of a registered uint64 metric with fields, whose first field has a value not allowed. */
  private DataPoint disallowedFieldValue() {
    for (MetricMetadata m : workload.registration().metrics()) {
      if (m.type() == MetricMetadata.TYPE_UINT64 && !m.fields().isEmpty()) {
        String[] labels = new String[m.fields().size() * 2];
        for (int i = 0; i < m.fields().size(); i++) {
          labels[2 * i] = m.fields().get(i).fieldName();
          labels[2 * i + 1] = i == 0 ? DISALLOWED_VALUE : m.fields().get(i).allowedValues().get(0);
        }
        Metric metric = new Metric(m.prometheusName(), m.prometheusType(), m.description());
        return DataPoint.of(metric, Labels.of(labels), Value.ofInt(1));
      }
    }
    throw new IllegalStateException("profile has no metric with fields to break");
  }

  private Snapshot counterDecrease(Instant now, MetricNameFilter filter) {
    String lowered = workload.decreaseCounter();
    Snapshot s = workload.snapshot(now, filter);
    if (lowered == null || filter.matches(lowered)) {
      return s;
    }
    // The filter left the lowered counter out; a faulty sandbox stays faulty, so send it anyway.
    List<DataPoint> data = new ArrayList<>(s.data());
    for (DataPoint d : workload.snapshot(now, MetricNameFilter.ALL).data()) {
      if (d.metric().name().equals(lowered)) {
        data.add(d);
      }
    }
    return new Snapshot(s.when(), data);
  }

  private Snapshot badBuckets(Instant now, MetricNameFilter filter) {
    Snapshot s = workload.snapshot(now, filter);
    List<DataPoint> data = new ArrayList<>(s.data());
    int index = firstHistogram(data);
    if (index < 0) {
      List<DataPoint> all = workload.snapshot(now, MetricNameFilter.ALL).data();
      int i = firstHistogram(all);
      if (i < 0) {
        return s;
      }
      data.add(all.get(i));
      index = data.size() - 1;
    }
    DataPoint d = data.get(index);
    Histogram h = d.histogram();
    List<Bucket> buckets = new ArrayList<>(h.buckets());
    Bucket moved = buckets.get(1);
    buckets.set(1, new Bucket(Value.ofInt(moved.upperBound().longValue() + 1), moved.count()));
    Histogram bad = new Histogram(h.total(), h.min(), h.max(), h.ssd(), buckets);
    data.set(index, new DataPoint(d.metric(), d.labels(), d.externalLabels(), null, bad));
    return new Snapshot(s.when(), data);
  }

  private static int firstHistogram(List<DataPoint> data) {
    for (int i = 0; i < data.size(); i++) {
      DataPoint d = data.get(i);
      if (d.histogram() != null && d.histogram().buckets().size() > 2) {
        return i;
      }
    }
    return -1;
  }

  private static Snapshot withExtra(Snapshot s, DataPoint extra) {
    List<DataPoint> data = new ArrayList<>(s.data());
    data.add(extra);
    return new Snapshot(s.when(), data);
  }

  private OversizedReply oversized(Call call) {
    workload.advance();
    Instant now = Instant.now();
    Snapshot s = workload.snapshot(now, MetricNameFilter.compile(call.onlyMetrics()));
    DataPoint element =
        s.data().isEmpty()
            ? DataPoint.of(
                new Metric("fs_opens", MetricType.COUNTER, "Number of file opens."), Labels.EMPTY, Value.ofInt(1))
            : s.data().get(0);
    String prefix =
        "{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{\"when\":\""
            + RunscTime.formatRfc3339Nano(now, zone)
            + "\",\"data\":[";
    return new OversizedReply(
        prefix.getBytes(StandardCharsets.UTF_8),
        encode(g -> GoJsonWriter.writeDataPoint(g, element)),
        "]}}}".getBytes(StandardCharsets.UTF_8),
        oversizedBytes);
  }

  /** Braces and brackets balance, so a client finds the end of the value; the syntax inside is broken. */
  private byte[] garbage() {
    String when = RunscTime.formatRfc3339Nano(Instant.now(), zone);
    return ("{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{\"when\":\"" + when + "\" \"data\":["
            + "{\"metric\":{\"name\":\"fs_opens\",\"type\":2,\"help\":\"Number of file opens.\"},"
            + "\"val\":{\"int\":}}]}}}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** uRPC's failure reply: {@code {"success":false,"err":MESSAGE,"result":null}}. */
  static byte[] errorReply(String message) {
    return encode(
        g -> {
          g.writeStartObject();
          g.writeBooleanField("success", false);
          g.writeStringField("err", message);
          g.writeNullField("result");
          g.writeEndObject();
        });
  }

  private byte[] encodeRegisteredMetricsReply() {
    return encode(
        g -> {
          g.writeStartObject();
          g.writeBooleanField("success", true);
          g.writeStringField("err", "");
          g.writeObjectFieldStart("result");
          // MetricsRegistrationResponse has no json tag: Go uses the field name as it is.
          g.writeFieldName("RegisteredMetrics");
          GoJsonWriter.writeRegistration(g, workload.registration());
          g.writeEndObject();
          g.writeEndObject();
        });
  }

  private interface JsonBody {
    void write(JsonGenerator g) throws IOException;
  }

  private static byte[] encode(JsonBody body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = GoJsonWriter.generator(out)) {
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException("encoding in memory", e);
    }
    return out.toByteArray();
  }

  /** Go's %q, closely enough for error messages. */
  private static String goQuote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
