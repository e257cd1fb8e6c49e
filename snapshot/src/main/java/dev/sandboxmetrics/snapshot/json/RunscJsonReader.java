package dev.sandboxmetrics.snapshot.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricField;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * One decoding pass over runsc JSON, on Jackson's streaming API, straight into the model. {@link RunscJson}
 * creates one per call; nothing else uses it.
 *
 * <p>Shapes are checked strictly and every failure becomes a {@link RunscJsonException} whose message starts
 * with the path of the offending value ({@code data[12].histogram.buckets[3].le}) and ends with its line and
 * column. The path is kept as a small stack of names and indices that costs nothing until an error needs it.
 *
 * <p>Null follows Go's encoder: it can write null (or omit) only optional pointers, maps and slices, so null
 * reads as "absent" there ({@code val}, {@code histogram}, {@code labels}, {@code data}, {@code buckets},
 * {@code result}, ...). Where Go always writes a value (a metric, a name, a number, an array element, a label
 * value) null is an error. Absent members take Go's zero values, except {@code metric} and its {@code name},
 * without which a data point means nothing.
 *
 * <p>Nesting is bounded by the shapes themselves; only unknown members can nest freely, and {@link #skip}
 * refuses to go deeper than {@link #MAX_DEPTH} without recursing, so hostile input cannot exhaust the stack.
 */
final class RunscJsonReader {
  /** The deepest nesting accepted anywhere, counted from the top-level value. runsc's shapes need 8. */
  static final int MAX_DEPTH = 64;

  /** The body of one decoding call. */
  interface Body<T> {
    T read(RunscJsonReader reader) throws IOException, RunscJsonException;
  }

  private final JsonParser p;
  private final RunscJson.BothSetPolicy bothSet;

  // The path to the value being read: a name, or (when the name is null) an array index.
  private final String[] pathNames = new String[MAX_DEPTH + 1];
  private final int[] pathIndices = new int[MAX_DEPTH + 1];
  private int pathDepth;

  // Scratch for labels; copied out for each Labels.
  private String[] labelNames = new String[8];
  private String[] labelValues = new String[8];

  // Consecutive data points of one metric carry identical metric objects: decode them once.
  private Metric lastMetric;

  private RunscJsonReader(JsonParser p, RunscJson.BothSetPolicy policy) {
    this.p = p;
    this.bothSet = policy;
  }

  // ---- entry points ----

  /** Decodes a whole document: exactly one value, nothing after it but whitespace. */
  static <T> T decodeDocument(JsonParser p, RunscJson.BothSetPolicy policy, Body<T> body)
      throws RunscJsonException, IOException {
    RunscJsonReader r = new RunscJsonReader(p, policy);
    try {
      T value = body.read(r);
      JsonToken after = p.nextToken();
      if (after != null) {
        throw r.error("unexpected " + describe(after) + " after the JSON value");
      }
      return value;
    } catch (JsonProcessingException e) {
      throw r.wrap(e);
    } catch (RuntimeException e) {
      throw r.unexpected(e);
    }
  }

  /** Decodes one value from a parser that may hold more after it. */
  static <T> T decodeValue(JsonParser p, RunscJson.BothSetPolicy policy, Body<T> body)
      throws RunscJsonException, IOException {
    RunscJsonReader r = new RunscJsonReader(p, policy);
    try {
      return body.read(r);
    } catch (JsonProcessingException e) {
      throw r.wrap(e);
    } catch (RuntimeException e) {
      throw r.unexpected(e);
    }
  }

  JsonToken nextToken() throws IOException {
    return p.nextToken();
  }

  JsonToken current() {
    return p.currentToken();
  }

  /** The value the parser is on when it is the start of a value, else the next token. */
  JsonToken currentOrNextValue() throws IOException {
    JsonToken t = p.currentToken();
    if (t == null || t == JsonToken.FIELD_NAME || t.isStructEnd()) {
      return p.nextToken();
    }
    return t;
  }

  // Member names in the order gVisor's structs write them. Guessing the next name lets Jackson compare raw
  // bytes instead of decoding and looking up the name; a wrong guess costs one failed comparison.
  private static final SerializedString METRIC = new SerializedString("metric");
  private static final SerializedString VAL = new SerializedString("val");
  private static final SerializedString INT = new SerializedString("int");
  private static final SerializedString[] METRIC_MEMBERS = {
    new SerializedString("name"), new SerializedString("type"), new SerializedString("help")
  };
  private static final SerializedString[] HISTOGRAM_MEMBERS = {
    new SerializedString("total"), new SerializedString("min"), new SerializedString("max"),
    new SerializedString("ssd"), new SerializedString("buckets")
  };
  private static final SerializedString[] BUCKET_MEMBERS = {new SerializedString("le"), new SerializedString("n")};

  /** The next member name (null at the end of the object), trying {@code guess} first when not null. */
  private String nextName(SerializedString guess) throws IOException {
    if (guess == null) {
      return p.nextFieldName();
    }
    if (p.nextFieldName(guess)) {
      return guess.getValue();
    }
    return p.currentToken() == JsonToken.FIELD_NAME ? p.currentName() : null;
  }

  // ---- snapshots ----

  Snapshot snapshot(JsonToken t) throws IOException, RunscJsonException {
    requireObject(t);
    Instant when = RunscTime.GO_ZERO_TIME;
    List<DataPoint> data = List.of();
    for (String f = p.nextFieldName(); f != null; f = p.nextFieldName()) {
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "when":
          when = time(v);
          break;
        case "data":
          data = dataArray(v);
          break;
        default:
          skip(v);
      }
      leave();
    }
    return new Snapshot(when, data);
  }

  private Instant time(JsonToken t) throws IOException, RunscJsonException {
    if (t != JsonToken.VALUE_STRING) {
      throw typeError("an RFC 3339 time string", t);
    }
    try {
      return RunscTime.parseRfc3339(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      throw error("invalid time " + preview(p.getText()) + ": " + e.getMessage());
    }
  }

  private List<DataPoint> dataArray(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NULL) {
      return List.of();
    }
    requireArray(t);
    ArrayList<DataPoint> list = new ArrayList<>(256);
    enterIndex();
    for (int i = 0; (t = element(i)) != JsonToken.END_ARRAY; i++) {
      list.add(dataPoint(t));
    }
    leave();
    return List.copyOf(list);
  }

  private DataPoint dataPoint(JsonToken t) throws IOException, RunscJsonException {
    requireObject(t);
    Metric metric = null;
    Labels labels = Labels.EMPTY;
    Labels external = Labels.EMPTY;
    Value val = null;
    Histogram histogram = null;
    for (int n = 0; ; n++) {
      String f = nextName(n == 0 ? METRIC : VAL);
      if (f == null) {
        break;
      }
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "metric":
          metric = metric(v);
          break;
        case "labels":
          labels = labels(v);
          break;
        case "external_labels":
          external = labels(v);
          break;
        case "val":
          val = v == JsonToken.VALUE_NULL ? null : number(v, true);
          break;
        case "histogram":
          histogram = v == JsonToken.VALUE_NULL ? null : histogram(v);
          break;
        default:
          skip(v);
      }
      leave();
    }
    if (metric == null) {
      throw error("missing metric");
    }
    return new DataPoint(metric, labels, external, val, histogram);
  }

  private Metric metric(JsonToken t) throws IOException, RunscJsonException {
    requireObject(t);
    String name = null;
    MetricType type = MetricType.UNTYPED;
    String help = "";
    for (int n = 0; ; n++) {
      String f = nextName(n < METRIC_MEMBERS.length ? METRIC_MEMBERS[n] : null);
      if (f == null) {
        break;
      }
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "name":
          name = string(v);
          break;
        case "type":
          long code = integer(v);
          type = MetricType.fromCode(code);
          if (type == null) {
            throw error("unknown metric type " + code + " (runsc uses 0 untyped, 1 gauge, 2 counter, 3 histogram)");
          }
          break;
        case "help":
          help = string(v);
          break;
        default:
          skip(v);
      }
      leave();
    }
    if (name == null) {
      throw error("missing name");
    }
    Metric last = lastMetric;
    if (last != null && last.type() == type && last.name().equals(name) && last.help().equals(help)) {
      return last;
    }
    return lastMetric = new Metric(name, type, help);
  }

  private Labels labels(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NULL) {
      return Labels.EMPTY;
    }
    requireObject(t);
    int n = 0;
    boolean sorted = true;
    for (String k = p.nextFieldName(); k != null; k = p.nextFieldName()) {
      enter(k);
      String v = string(p.nextToken());
      leave();
      if (n == labelNames.length) {
        labelNames = Arrays.copyOf(labelNames, n * 2);
        labelValues = Arrays.copyOf(labelValues, n * 2);
      }
      if (n > 0 && labelNames[n - 1].compareTo(k) >= 0) {
        sorted = false;
      }
      labelNames[n] = k;
      labelValues[n] = v;
      n++;
    }
    if (n == 0) {
      return Labels.EMPTY;
    }
    String[] names = Arrays.copyOf(labelNames, n);
    String[] values = Arrays.copyOf(labelValues, n);
    if (!sorted) {
      // Go writes maps sorted, so this only runs for other producers: sort by name, pairs together.
      Integer[] order = new Integer[n];
      for (int i = 0; i < n; i++) {
        order[i] = i;
      }
      Arrays.sort(order, Comparator.comparing(i -> names[i]));
      String[] sortedNames = new String[n];
      String[] sortedValues = new String[n];
      for (int i = 0; i < n; i++) {
        sortedNames[i] = names[order[i]];
        sortedValues[i] = values[order[i]];
        if (i > 0 && sortedNames[i - 1].equals(sortedNames[i])) {
          throw error("duplicate label " + quote(sortedNames[i]));
        }
      }
      return Labels.ofSorted(sortedNames, sortedValues);
    }
    return Labels.ofSorted(names, values);
  }

  private Value number(JsonToken t) throws IOException, RunscJsonException {
    return number(t, false);
  }

  /** A number; {@code scalar} when it is a data point's value, where gVisor's verifier judges both set. */
  private Value number(JsonToken t, boolean scalar) throws IOException, RunscJsonException {
    requireObject(t);
    long intValue = 0;
    double floatValue = 0;
    for (int n = 0; ; n++) {
      String f = nextName(n == 0 ? INT : null);
      if (f == null) {
        break;
      }
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "int":
          intValue = integer(v);
          break;
        case "float":
          floatValue = floating(v);
          break;
        default:
          skip(v);
      }
      leave();
    }
    // As in Go, a member holding zero is the same as an absent one: {"float": 0} is {}.
    boolean intSet = intValue != 0;
    boolean floatSet = floatValue != 0; // true for NaN too
    if (intSet && floatSet && !RunscJson.intWins(bothSet, scalar, floatValue)) {
      throw error(bothSet == RunscJson.BothSetPolicy.REJECT
          ? "both int and float are set; a runsc number holds one or the other"
          : "both int " + intValue + " and float " + floatValue + " are set, and gVisor's verifier rejects a"
              + " non-integer float part for an integer metric");
    }
    if (intSet) {
      return Value.ofInt(intValue);
    }
    return floatSet ? Value.ofFloat(floatValue) : Value.ZERO;
  }

  private Histogram histogram(JsonToken t) throws IOException, RunscJsonException {
    requireObject(t);
    Value total = Value.ZERO;
    Value min = Value.ZERO;
    Value max = Value.ZERO;
    Value ssd = Value.ZERO;
    List<Bucket> buckets = List.of();
    for (int n = 0; ; n++) {
      String f = nextName(n < HISTOGRAM_MEMBERS.length ? HISTOGRAM_MEMBERS[n] : null);
      if (f == null) {
        break;
      }
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "total":
          total = number(v);
          break;
        case "min":
          min = number(v);
          break;
        case "max":
          max = number(v);
          break;
        case "ssd":
          ssd = number(v);
          break;
        case "buckets":
          buckets = bucketArray(v);
          break;
        default:
          skip(v);
      }
      leave();
    }
    return new Histogram(total, min, max, ssd, buckets);
  }

  private List<Bucket> bucketArray(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NULL) {
      return List.of();
    }
    requireArray(t);
    ArrayList<Bucket> list = new ArrayList<>(32);
    enterIndex();
    for (int i = 0; (t = element(i)) != JsonToken.END_ARRAY; i++) {
      list.add(bucket(t));
    }
    leave();
    return List.copyOf(list);
  }

  private Bucket bucket(JsonToken t) throws IOException, RunscJsonException {
    requireObject(t);
    Value le = Value.ZERO;
    long count = 0;
    for (int i = 0; ; i++) {
      String f = nextName(i < BUCKET_MEMBERS.length ? BUCKET_MEMBERS[i] : null);
      if (f == null) {
        break;
      }
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "le":
          le = number(v);
          break;
        case "n":
          count = integer(v);
          if (count < 0) {
            throw error("a sample count cannot be negative, got " + count);
          }
          break;
        default:
          skip(v);
      }
      leave();
    }
    return new Bucket(le, count);
  }

  // ---- registrations ----

  Registration registration(JsonToken t) throws IOException, RunscJsonException {
    requireObject(t);
    List<MetricMetadata> metrics = List.of();
    List<String> stages = List.of();
    for (String f = p.nextFieldName(); f != null; f = p.nextFieldName()) {
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "metrics":
          metrics = metadataArray(v);
          break;
        case "stages":
          stages = stringArray(v);
          break;
        default:
          skip(v);
      }
      leave();
    }
    return new Registration(metrics, stages);
  }

  private List<MetricMetadata> metadataArray(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NULL) {
      return List.of();
    }
    requireArray(t);
    ArrayList<MetricMetadata> list = new ArrayList<>();
    enterIndex();
    for (int i = 0; (t = element(i)) != JsonToken.END_ARRAY; i++) {
      list.add(metadata(t));
    }
    leave();
    return list;
  }

  private MetricMetadata metadata(JsonToken t) throws IOException, RunscJsonException {
    requireObject(t);
    String name = "";
    String prometheusName = "";
    String description = "";
    boolean cumulative = false;
    boolean sync = false;
    int type = 0;
    int units = 0;
    List<MetricField> fields = List.of();
    List<Long> lowerBounds = List.of();
    for (String f = p.nextFieldName(); f != null; f = p.nextFieldName()) {
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "name":
          name = string(v);
          break;
        case "prometheus_name":
          prometheusName = string(v);
          break;
        case "description":
          description = string(v);
          break;
        case "cumulative":
          cumulative = bool(v);
          break;
        case "sync":
          sync = bool(v);
          break;
        case "type":
          type = int32(v);
          break;
        case "units":
          units = int32(v);
          break;
        case "fields":
          fields = fieldArray(v);
          break;
        case "distribution_bucket_lower_bounds":
          lowerBounds = longArray(v);
          break;
        default:
          skip(v);
      }
      leave();
    }
    return new MetricMetadata(
        name, prometheusName, description, cumulative, sync, type, units, fields, lowerBounds);
  }

  private List<MetricField> fieldArray(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NULL) {
      return List.of();
    }
    requireArray(t);
    ArrayList<MetricField> list = new ArrayList<>();
    enterIndex();
    for (int i = 0; (t = element(i)) != JsonToken.END_ARRAY; i++) {
      requireObject(t);
      String fieldName = "";
      List<String> allowed = List.of();
      for (String f = p.nextFieldName(); f != null; f = p.nextFieldName()) {
        enter(f);
        JsonToken v = p.nextToken();
        switch (f) {
          case "field_name":
            fieldName = string(v);
            break;
          case "allowed_values":
            allowed = stringArray(v);
            break;
          default:
            skip(v);
        }
        leave();
      }
      list.add(new MetricField(fieldName, allowed));
    }
    leave();
    return list;
  }

  private List<String> stringArray(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NULL) {
      return List.of();
    }
    requireArray(t);
    ArrayList<String> list = new ArrayList<>();
    enterIndex();
    for (int i = 0; (t = element(i)) != JsonToken.END_ARRAY; i++) {
      list.add(string(t));
    }
    leave();
    return list;
  }

  private List<Long> longArray(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NULL) {
      return List.of();
    }
    requireArray(t);
    ArrayList<Long> list = new ArrayList<>();
    enterIndex();
    for (int i = 0; (t = element(i)) != JsonToken.END_ARRAY; i++) {
      list.add(integer(t));
    }
    leave();
    return list;
  }

  // ---- uRPC ----

  /** Reads {@code {"success":..,"err":..,"result":{MEMBER: ...}}}, with {@code resultBody} reading MEMBER. */
  <T> Reply<T> reply(JsonToken t, String member, Body<T> resultBody) throws IOException, RunscJsonException {
    requireObject(t);
    boolean success = false;
    String err = "";
    T result = null;
    for (String f = p.nextFieldName(); f != null; f = p.nextFieldName()) {
      enter(f);
      JsonToken v = p.nextToken();
      switch (f) {
        case "success":
          success = bool(v);
          break;
        case "err":
          err = string(v);
          break;
        case "result":
          if (v != JsonToken.VALUE_NULL) {
            requireObject(v);
            for (String r = p.nextFieldName(); r != null; r = p.nextFieldName()) {
              enter(r);
              JsonToken rv = p.nextToken();
              if (r.equals(member)) {
                result = rv == JsonToken.VALUE_NULL ? null : resultBody.read(this);
              } else {
                skip(rv);
              }
              leave();
            }
          }
          break;
        default:
          skip(v);
      }
      leave();
    }
    if (success && result == null) {
      throw error("successful reply without result." + member);
    }
    return new Reply<>(success, err, success ? result : null);
  }

  record Reply<T>(boolean success, String err, T result) {}

  // ---- scalars ----

  private String string(JsonToken t) throws IOException, RunscJsonException {
    if (t != JsonToken.VALUE_STRING) {
      throw typeError("a string", t);
    }
    return p.getText();
  }

  private boolean bool(JsonToken t) throws RunscJsonException {
    if (t == JsonToken.VALUE_TRUE) {
      return true;
    }
    if (t == JsonToken.VALUE_FALSE) {
      return false;
    }
    throw typeError("true or false", t);
  }

  private long integer(JsonToken t) throws IOException, RunscJsonException {
    if (t == JsonToken.VALUE_NUMBER_INT) {
      JsonParser.NumberType nt = p.getNumberType();
      if (nt == JsonParser.NumberType.INT || nt == JsonParser.NumberType.LONG) {
        return p.getLongValue();
      }
      throw error("integer " + preview(p.getText()) + " does not fit in 64 bits");
    }
    if (t == JsonToken.VALUE_NUMBER_FLOAT) {
      throw error("expected an integer, got " + preview(p.getText()));
    }
    throw typeError("an integer", t);
  }

  private int int32(JsonToken t) throws IOException, RunscJsonException {
    long v = integer(t);
    if (v != (int) v) {
      throw error("integer " + v + " does not fit in 32 bits");
    }
    return (int) v;
  }

  private double floating(JsonToken t) throws IOException, RunscJsonException {
    switch (t == null ? JsonToken.NOT_AVAILABLE : t) {
      case VALUE_NUMBER_INT:
        JsonParser.NumberType nt = p.getNumberType();
        if (nt == JsonParser.NumberType.INT || nt == JsonParser.NumberType.LONG) {
          return p.getLongValue();
        }
        return finite(p.getDoubleValue());
      case VALUE_NUMBER_FLOAT:
        double d = p.getDoubleValue();
        // The tokens Infinity and -Infinity are welcome; a literal too large for a double is not.
        if (Double.isInfinite(d) && p.getText().indexOf('I') < 0) {
          return finite(d);
        }
        return d;
      case VALUE_STRING:
        String s = p.getText();
        switch (s) {
          case "+Inf":
          case "Inf":
          case "Infinity":
          case "+Infinity":
            return Double.POSITIVE_INFINITY;
          case "-Inf":
          case "-Infinity":
            return Double.NEGATIVE_INFINITY;
          case "NaN":
            return Double.NaN;
          default:
            throw error("expected a number, got the string " + preview(s));
        }
      default:
        throw typeError("a number", t);
    }
  }

  private double finite(double d) throws IOException, RunscJsonException {
    if (Double.isInfinite(d)) {
      throw error("number " + preview(p.getText()) + " is out of range for a 64-bit float");
    }
    return d;
  }

  // ---- structure ----

  /** The first token of array element {@code i}, or END_ARRAY; the path names the element first. */
  private JsonToken element(int i) throws IOException, RunscJsonException {
    setIndex(i);
    JsonToken t = p.nextToken();
    if (t == null) {
      throw error("unexpected end of input");
    }
    return t;
  }

  private void requireObject(JsonToken t) throws RunscJsonException {
    if (t != JsonToken.START_OBJECT) {
      throw typeError("an object", t);
    }
  }

  private void requireArray(JsonToken t) throws RunscJsonException {
    if (t != JsonToken.START_ARRAY) {
      throw typeError("an array", t);
    }
  }

  /** Skips a value of a member we do not know, iteratively and within {@link #MAX_DEPTH}. */
  private void skip(JsonToken t) throws IOException, RunscJsonException {
    if (t == null) {
      throw error("unexpected end of input");
    }
    if (!t.isStructStart()) {
      return;
    }
    int open = 1;
    checkDepth();
    while (open > 0) {
      t = p.nextToken();
      if (t == null) {
        throw error("unexpected end of input");
      }
      if (t.isStructStart()) {
        open++;
        checkDepth();
      } else if (t.isStructEnd()) {
        open--;
      }
    }
  }

  private void checkDepth() throws RunscJsonException {
    if (p.getParsingContext().getNestingDepth() > MAX_DEPTH) {
      throw error("JSON nested deeper than " + MAX_DEPTH + " levels");
    }
  }

  // ---- path and errors ----

  private void enter(String name) {
    pathNames[pathDepth] = name;
    pathIndices[pathDepth] = -1;
    pathDepth++;
  }

  private void enterIndex() {
    pathNames[pathDepth] = null;
    pathIndices[pathDepth] = 0;
    pathDepth++;
  }

  private void setIndex(int i) {
    pathIndices[pathDepth - 1] = i;
  }

  private void leave() {
    pathDepth--;
  }

  String path() {
    if (pathDepth == 0) {
      return "top-level value";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < pathDepth; i++) {
      if (pathNames[i] == null) {
        sb.append('[').append(pathIndices[i]).append(']');
      } else {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(pathNames[i]);
      }
    }
    return sb.toString();
  }

  RunscJsonException error(String what) {
    return new RunscJsonException(path() + ": " + what + where(p.currentTokenLocation()));
  }

  private RunscJsonException typeError(String expected, JsonToken got) {
    String description = describe(got);
    if (got == JsonToken.VALUE_STRING) {
      try {
        description = "the string " + preview(p.getText());
      } catch (IOException | RuntimeException e) {
        // keep the plain description
      }
    }
    return error("expected " + expected + ", got " + description);
  }

  private RunscJsonException wrap(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    if (message == null) {
      message = e.getClass().getSimpleName();
    }
    // Constraint violations carry no location of their own; the parser's position is where it stopped.
    JsonLocation at = e.getLocation() != null ? e.getLocation() : p.currentLocation();
    return new RunscJsonException(path() + ": malformed JSON: " + message.replace('\n', ' ') + where(at), e);
  }

  private RunscJsonException unexpected(RuntimeException e) {
    JsonLocation at;
    try {
      at = p.currentLocation();
    } catch (RuntimeException again) {
      at = null;
    }
    return new RunscJsonException(path() + ": cannot decode: " + e + where(at), e);
  }

  private static String where(JsonLocation at) {
    if (at == null || at.getLineNr() < 0) {
      return "";
    }
    return " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
  }

  static String describe(JsonToken t) {
    if (t == null) {
      return "the end of the input";
    }
    switch (t) {
      case START_OBJECT:
        return "an object";
      case START_ARRAY:
        return "an array";
      case END_OBJECT:
        return "the end of an object";
      case END_ARRAY:
        return "the end of an array";
      case VALUE_STRING:
        return "a string";
      case VALUE_NUMBER_INT:
        return "an integer";
      case VALUE_NUMBER_FLOAT:
        return "a floating-point number";
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "a boolean";
      case VALUE_NULL:
        return "null";
      default:
        return t.toString();
    }
  }

  private static final int PREVIEW = 40;

  private static String preview(String s) {
    String cut = s.length() > PREVIEW ? s.substring(0, PREVIEW) + "..." : s;
    return quote(cut);
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20 || c == 0x7f) {
        sb.append(String.format("\\x%02x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }
}
