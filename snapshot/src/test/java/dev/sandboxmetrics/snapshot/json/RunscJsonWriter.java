package dev.sandboxmetrics.snapshot.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.MetricField;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.io.IOException;

/**
 * Writes the model as gVisor's Go structs come out of {@code encoding/json}: members in struct order, and
 * omitted exactly where the struct tags say {@code omitempty} (docs/runsc-protocol.md section 4). A test
 * fixture: tests build replies and registrations with it through {@link RunscReplies}, its only caller; the
 * simulator has its own writer ({@code simulator/gojson/GoJsonWriter}).
 *
 * <p>Where we differ from Go on purpose: non-finite floats are written as the bare tokens {@code Infinity},
 * {@code -Infinity}, {@code NaN} (Go cannot encode them at all and fails the whole reply); floats use Java's
 * shortest representation ({@code 2.0} where Go writes {@code 2}), which every JSON reader takes as the same
 * number; {@code <>&} are not escaped the way Go does, which changes nothing for a JSON reader.
 */
final class RunscJsonWriter {
  private static final SerializedString WHEN = new SerializedString("when");
  private static final SerializedString DATA = new SerializedString("data");
  private static final SerializedString METRIC = new SerializedString("metric");
  private static final SerializedString NAME = new SerializedString("name");
  private static final SerializedString TYPE = new SerializedString("type");
  private static final SerializedString HELP = new SerializedString("help");
  private static final SerializedString LABELS = new SerializedString("labels");
  private static final SerializedString EXTERNAL_LABELS = new SerializedString("external_labels");
  private static final SerializedString VAL = new SerializedString("val");
  private static final SerializedString HISTOGRAM = new SerializedString("histogram");
  private static final SerializedString INT = new SerializedString("int");
  private static final SerializedString FLOAT = new SerializedString("float");
  private static final SerializedString LE = new SerializedString("le");
  private static final SerializedString N = new SerializedString("n");

  private RunscJsonWriter() {}

  static void snapshot(JsonGenerator g, Snapshot s) throws IOException {
    g.writeStartObject();
    // Go's omitempty has no effect on a struct such as time.Time: "when" is always written.
    g.writeFieldName(WHEN);
    g.writeString(RunscTime.formatRfc3339Nano(s.when()));
    if (!s.data().isEmpty()) {
      g.writeFieldName(DATA);
      g.writeStartArray();
      for (DataPoint d : s.data()) {
        dataPoint(g, d);
      }
      g.writeEndArray();
    }
    g.writeEndObject();
  }

  private static void dataPoint(JsonGenerator g, DataPoint d) throws IOException {
    g.writeStartObject();
    g.writeFieldName(METRIC);
    g.writeStartObject();
    g.writeFieldName(NAME);
    g.writeString(d.metric().name());
    g.writeFieldName(TYPE);
    g.writeNumber(d.metric().type().code());
    g.writeFieldName(HELP);
    g.writeString(d.metric().help());
    g.writeEndObject();
    if (!d.labels().isEmpty()) {
      g.writeFieldName(LABELS);
      labels(g, d.labels());
    }
    if (!d.externalLabels().isEmpty()) {
      g.writeFieldName(EXTERNAL_LABELS);
      labels(g, d.externalLabels());
    }
    if (d.value() != null) {
      g.writeFieldName(VAL);
      number(g, d.value());
    }
    if (d.histogram() != null) {
      g.writeFieldName(HISTOGRAM);
      histogram(g, d.histogram());
    }
    g.writeEndObject();
  }

  private static void labels(JsonGenerator g, Labels labels) throws IOException {
    g.writeStartObject();
    for (int i = 0; i < labels.size(); i++) {
      g.writeStringField(labels.name(i), labels.value(i));
    }
    g.writeEndObject();
  }

  /** {@code {}} for zero of either kind (Go omits both members), else the one member that is set. */
  private static void number(JsonGenerator g, Value v) throws IOException {
    g.writeStartObject();
    if (v.isInteger()) {
      if (v.longValue() != 0) {
        g.writeFieldName(INT);
        g.writeNumber(v.longValue());
      }
    } else if (v.doubleValue() != 0) { // NaN != 0 too
      g.writeFieldName(FLOAT);
      g.writeNumber(v.doubleValue());
    }
    g.writeEndObject();
  }

  private static void histogram(JsonGenerator g, Histogram h) throws IOException {
    g.writeStartObject();
    g.writeFieldName("total");
    number(g, h.total());
    g.writeFieldName("min");
    number(g, h.min());
    g.writeFieldName("max");
    number(g, h.max());
    g.writeFieldName("ssd");
    number(g, h.ssd());
    if (!h.buckets().isEmpty()) {
      g.writeFieldName("buckets");
      g.writeStartArray();
      for (Bucket b : h.buckets()) {
        g.writeStartObject();
        g.writeFieldName(LE);
        number(g, b.upperBound());
        if (b.count() != 0) {
          g.writeFieldName(N);
          g.writeNumber(b.count());
        }
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    g.writeEndObject();
  }

  /** The protobuf-generated Go struct: every member omitempty, enums as numbers. */
  static void registration(JsonGenerator g, Registration r) throws IOException {
    g.writeStartObject();
    if (!r.metrics().isEmpty()) {
      g.writeArrayFieldStart("metrics");
      for (MetricMetadata m : r.metrics()) {
        metadata(g, m);
      }
      g.writeEndArray();
    }
    if (!r.stages().isEmpty()) {
      g.writeArrayFieldStart("stages");
      for (String s : r.stages()) {
        g.writeString(s);
      }
      g.writeEndArray();
    }
    g.writeEndObject();
  }

  private static void metadata(JsonGenerator g, MetricMetadata m) throws IOException {
    g.writeStartObject();
    stringIfSet(g, "name", m.name());
    stringIfSet(g, "prometheus_name", m.prometheusName());
    stringIfSet(g, "description", m.description());
    if (m.cumulative()) {
      g.writeBooleanField("cumulative", true);
    }
    if (m.sync()) {
      g.writeBooleanField("sync", true);
    }
    if (m.type() != 0) {
      g.writeNumberField("type", m.type());
    }
    if (m.units() != 0) {
      g.writeNumberField("units", m.units());
    }
    if (!m.fields().isEmpty()) {
      g.writeArrayFieldStart("fields");
      for (MetricField f : m.fields()) {
        g.writeStartObject();
        stringIfSet(g, "field_name", f.fieldName());
        if (!f.allowedValues().isEmpty()) {
          g.writeArrayFieldStart("allowed_values");
          for (String v : f.allowedValues()) {
            g.writeString(v);
          }
          g.writeEndArray();
        }
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    if (!m.distributionBucketLowerBounds().isEmpty()) {
      g.writeArrayFieldStart("distribution_bucket_lower_bounds");
      for (long b : m.distributionBucketLowerBounds()) {
        g.writeNumber(b);
      }
      g.writeEndArray();
    }
    g.writeEndObject();
  }

  private static void stringIfSet(JsonGenerator g, String name, String value) throws IOException {
    if (!value.isEmpty()) {
      g.writeStringField(name, value);
    }
  }

  /** uRPC's callResult: {@code success}, {@code err} and {@code result} are always written. */
  static void replyStart(JsonGenerator g, boolean success, String err) throws IOException {
    g.writeStartObject();
    g.writeBooleanField("success", success);
    g.writeStringField("err", err == null ? "" : err);
    g.writeFieldName("result");
  }
}
