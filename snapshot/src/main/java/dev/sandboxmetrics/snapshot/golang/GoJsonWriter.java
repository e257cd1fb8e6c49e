package dev.sandboxmetrics.snapshot.golang;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.MetricField;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.IOException;
import java.io.OutputStream;
import java.time.ZoneId;

/**
 * Writes the runsc JSON shapes (docs/runsc-protocol.md section 4) the way a sandbox's Go code encodes them: struct
 * field order, {@code omitempty} where gVisor's structs have it, protobuf enums as numbers, map keys sorted,
 * {@code <>&} escaped, Go's float and time spelling.
 *
 * <p>The one writer of the sandbox's side of the protocol, and no part of the client: the simulator, which
 * plays a sandbox, writes its replies, workloads and state files with it, and tests build the replies they
 * feed the decoders and the control-socket clients with it ({@code RunscReplies} in this module's test jar).
 * It lives here, beside the model it encodes, because both of those need it and the snapshot module's tests
 * cannot depend on the simulator. It shares nothing with the decoders ({@code json/}), so a mistake in one
 * is not mirrored in the other and round-trip tests can catch it.
 */
public final class GoJsonWriter {
  /** A Jackson factory that writes what encoding/json writes. */
  public static final JsonFactory FACTORY =
      new JsonFactoryBuilder()
          .characterEscapes(new GoEscapes())
          // +Inf bucket bounds go out as the bare token Infinity, not as a string.
          .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
          .build();

  private GoJsonWriter() {}

  public static JsonGenerator generator(OutputStream out) throws IOException {
    JsonGenerator g = FACTORY.createGenerator(out);
    g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
    return g;
  }

  /** {@code {"when":...,"data":[...]}}: {@code data} is omitted when empty, as with Go's omitempty. */
  public static void writeSnapshot(JsonGenerator g, Snapshot snapshot, ZoneId zone) throws IOException {
    g.writeStartObject();
    g.writeStringField("when", RunscTime.formatRfc3339Nano(snapshot.when(), zone));
    if (!snapshot.data().isEmpty()) {
      g.writeArrayFieldStart("data");
      for (DataPoint d : snapshot.data()) {
        writeDataPoint(g, d);
      }
      g.writeEndArray();
    }
    g.writeEndObject();
  }

  /** One element of {@code data}: metric, then labels, external_labels, val, histogram when present. */
  public static void writeDataPoint(JsonGenerator g, DataPoint d) throws IOException {
    g.writeStartObject();
    g.writeObjectFieldStart("metric");
    g.writeStringField("name", d.metric().name());
    g.writeNumberField("type", d.metric().type().code());
    g.writeStringField("help", d.metric().help());
    g.writeEndObject();
    if (!d.labels().isEmpty()) {
      g.writeFieldName("labels");
      writeLabels(g, d.labels());
    }
    if (!d.externalLabels().isEmpty()) {
      g.writeFieldName("external_labels");
      writeLabels(g, d.externalLabels());
    }
    if (d.value() != null) {
      g.writeFieldName("val");
      writeNumber(g, d.value());
    }
    if (d.histogram() != null) {
      g.writeFieldName("histogram");
      writeHistogram(g, d.histogram());
    }
    g.writeEndObject();
  }

  /** A runsc Number: {@code {"int":5}}, {@code {"float":1.5}}, or {@code {}} for zero of either kind. */
  public static void writeNumber(JsonGenerator g, Value v) throws IOException {
    g.writeStartObject();
    if (v.isInteger()) {
      if (v.longValue() != 0) {
        g.writeNumberField("int", v.longValue());
      }
    } else if (v.doubleValue() != 0) { // -0.0 is empty to Go; NaN is not
      g.writeFieldName("float");
      g.writeNumber(GoText.float64(v.doubleValue()));
    }
    g.writeEndObject();
  }

  private static void writeHistogram(JsonGenerator g, Histogram h) throws IOException {
    g.writeStartObject();
    g.writeFieldName("total");
    writeNumber(g, h.total());
    g.writeFieldName("min");
    writeNumber(g, h.min());
    g.writeFieldName("max");
    writeNumber(g, h.max());
    g.writeFieldName("ssd");
    writeNumber(g, h.ssd());
    if (!h.buckets().isEmpty()) {
      g.writeArrayFieldStart("buckets");
      for (Bucket b : h.buckets()) {
        g.writeStartObject();
        g.writeFieldName("le");
        writeNumber(g, b.upperBound());
        if (b.count() != 0) {
          g.writeNumberField("n", b.count());
        }
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    g.writeEndObject();
  }

  private static void writeLabels(JsonGenerator g, Labels labels) throws IOException {
    // Labels are kept sorted by name, which is also the order Go writes map keys in.
    g.writeStartObject();
    for (int i = 0; i < labels.size(); i++) {
      g.writeStringField(labels.name(i), labels.value(i));
    }
    g.writeEndObject();
  }

  /**
   * A {@code MetricRegistration} protobuf message through encoding/json: snake_case names, every field
   * omitted when empty, enums as numbers.
   */
  public static void writeRegistration(JsonGenerator g, Registration r) throws IOException {
    g.writeStartObject();
    if (!r.metrics().isEmpty()) {
      g.writeArrayFieldStart("metrics");
      for (MetricMetadata m : r.metrics()) {
        writeMetricMetadata(g, m);
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

  private static void writeMetricMetadata(JsonGenerator g, MetricMetadata m) throws IOException {
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

  /**
   * encoding/json's HTML-safe escaping: {@code <}, {@code >}, {@code &}, U+2028 and U+2029 become
   * {@code \\uXXXX}. A client must decode those escapes in help texts and label values.
   */
  private static final class GoEscapes extends CharacterEscapes {
    private static final long serialVersionUID = 1L;
    private static final SerializedString LINE_SEPARATOR = new SerializedString("\\u2028");
    private static final SerializedString PARAGRAPH_SEPARATOR = new SerializedString("\\u2029");
    private final int[] ascii;

    GoEscapes() {
      ascii = standardAsciiEscapesForJSON();
      ascii['<'] = ESCAPE_STANDARD;
      ascii['>'] = ESCAPE_STANDARD;
      ascii['&'] = ESCAPE_STANDARD;
    }

    @Override
    public int[] getEscapeCodesForAscii() {
      return ascii;
    }

    @Override
    public SerializableString getEscapeSequence(int ch) {
      if (ch == 0x2028) {
        return LINE_SEPARATOR;
      }
      if (ch == 0x2029) {
        return PARAGRAPH_SEPARATOR;
      }
      return null;
    }
  }
}
