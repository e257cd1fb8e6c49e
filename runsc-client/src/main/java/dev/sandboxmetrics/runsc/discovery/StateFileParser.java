package dev.sandboxmetrics.runsc.discovery;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the bytes of one runsc state file into a {@link ContainerState}. Called by {@link RootDirectory}.
 *
 * <p>Lenient where Go's {@code encoding/json} is (unknown fields are ignored, since runsc adds fields over
 * time; absent or null fields take their zero value) and strict where it is (a field of the wrong JSON
 * type is an error), so that every state file runsc can read, we can read, and a broken one is reported
 * with the file and the field at fault instead of surfacing later as a wrong label.
 *
 * <p>It reads with jackson-core's streaming parser, not a databind {@code ObjectMapper}: starting databind
 * costs about 200 ms of class loading and set-up, a large part of a one-shot {@code export-metrics}. The
 * parser first reads the whole document into {@link Node}s that keep only the members these checks look
 * at, as a JSON tree would, so a syntax error anywhere wins over a type error, and a later duplicate
 * member replaces an earlier one; then the checks run in a fixed order. {@code registeredMetrics} is kept
 * as the bytes it spans, decoded only for the root container ({@link SandboxInfo}).
 */
final class StateFileParser {

  /** Default settings, as a default {@code ObjectMapper} reads: standard JSON only (no NaN, no comments). */
  private static final JsonFactory FACTORY = new JsonFactory();

  // What to keep of each member; everything else is skipped (but still checked for syntax).
  private static final Shape CAPABILITY_LIST = Shape.array(Shape.SCALAR);
  private static final Shape SPEC = Shape.object(Map.of(
      "ociVersion", Shape.SCALAR,
      "annotations", Shape.map(Shape.SCALAR),
      "process", Shape.object(Map.of(
          "user", Shape.object(Map.of("uid", Shape.SCALAR)),
          "capabilities", Shape.object(Map.of(
              "bounding", CAPABILITY_LIST,
              "effective", CAPABILITY_LIST,
              "inheritable", CAPABILITY_LIST,
              "permitted", CAPABILITY_LIST,
              "ambient", CAPABILITY_LIST))))));
  private static final Shape SANDBOX = Shape.object(Map.ofEntries(
      Map.entry("id", Shape.SCALAR),
      Map.entry("pid", Shape.SCALAR),
      Map.entry("podName", Shape.SCALAR),
      Map.entry("namespace", Shape.SCALAR),
      Map.entry("controlSocketPath", Shape.SCALAR),
      Map.entry("metricServerAddress", Shape.SCALAR),
      Map.entry("metricMetadata", Shape.map(Shape.SCALAR)),
      Map.entry("registeredMetrics", Shape.BYTES),
      Map.entry("checkpointed", Shape.SCALAR),
      Map.entry("restored", Shape.SCALAR),
      Map.entry("cpuTimeSaved", Shape.SCALAR),
      Map.entry("wallTimeSaved", Shape.SCALAR)));
  private static final Shape STATE_FILE = Shape.object(Map.of(
      "id", Shape.SCALAR,
      "createdAt", Shape.SCALAR,
      "status", Shape.SCALAR,
      "spec", SPEC,
      "sandbox", SANDBOX));

  private final Path file;

  private StateFileParser(Path file) {
    this.file = file;
  }

  static ContainerState parse(StateFileName name, Path file, FileIdentity identity, byte[] json)
      throws StateFileException {
    return new StateFileParser(file).parse(name, identity, json);
  }

  private ContainerState parse(StateFileName name, FileIdentity identity, byte[] json)
      throws StateFileException {
    Node top = readDocument(json);
    if (!top.isObject()) {
      throw new StateFileException(file, "expected a JSON object, got " + top.kind());
    }
    String id = string(top, "id", "id");
    if (id.isEmpty()) {
      id = name.containerId();
    } else if (!id.equals(name.containerId())) {
      throw new StateFileException(file, "says container \"" + id + "\" but its name says \""
          + name.containerId() + "\"");
    }
    Instant createdAt = time(top, "createdAt");
    String status = string(top, "status", "status");
    ContainerState.Spec spec = spec(object(top, "spec", "spec"));
    ContainerState.SandboxRecord sandbox = sandbox(object(top, "sandbox", "sandbox"), name, json);
    return new ContainerState(name, file, identity, id, createdAt, status, spec, sandbox);
  }

  private Node readDocument(byte[] json) throws StateFileException {
    try (JsonParser p = FACTORY.createParser(json)) {
      JsonToken first = p.nextToken();
      if (first == null) {
        throw new StateFileException(file, "is empty");
      }
      Node top = read(p, STATE_FILE);
      JsonToken after = p.nextToken();
      if (after != null) {
        throw new StateFileException(file, "not valid JSON: unexpected " + describe(after)
            + " after the JSON value" + at(p.currentTokenLocation()));
      }
      return top;
    } catch (StateFileException e) {
      throw e;
    } catch (JsonProcessingException e) {
      throw new StateFileException(file, "not valid JSON: " + e.getOriginalMessage() + at(e.getLocation()), e);
    } catch (IOException e) {
      throw new StateFileException(file, "cannot be parsed: " + e.getMessage(), e);
    }
  }

  private ContainerState.Spec spec(Node spec) throws StateFileException {
    if (spec == null) {
      return new ContainerState.Spec("", null, null, null);
    }
    String ociVersion = string(spec, "ociVersion", "spec.ociVersion");
    Map<String, String> annotations = stringMap(spec, "annotations", "spec.annotations");
    Node process = object(spec, "process", "spec.process");
    if (process == null) {
      return new ContainerState.Spec(ociVersion, null, null, annotations);
    }
    Node user = object(process, "user", "spec.process.user");
    long uid = user == null ? 0 : integer(user, "uid", "spec.process.user.uid", 0, 0xFFFF_FFFFL);
    Node caps = object(process, "capabilities", "spec.process.capabilities");
    ContainerState.Capabilities capabilities = caps == null
        ? ContainerState.Capabilities.NONE
        : new ContainerState.Capabilities(
            stringList(caps, "bounding", "spec.process.capabilities.bounding"),
            stringList(caps, "effective", "spec.process.capabilities.effective"),
            stringList(caps, "inheritable", "spec.process.capabilities.inheritable"),
            stringList(caps, "permitted", "spec.process.capabilities.permitted"),
            stringList(caps, "ambient", "spec.process.capabilities.ambient"));
    return new ContainerState.Spec(ociVersion, uid, capabilities, annotations);
  }

  private ContainerState.SandboxRecord sandbox(Node s, StateFileName name, byte[] json) throws StateFileException {
    if (s == null) {
      return null;
    }
    String id = string(s, "id", "sandbox.id");
    if (id.isEmpty()) {
      id = name.sandboxId();
    } else if (!id.equals(name.sandboxId())) {
      throw new StateFileException(file, "says sandbox \"" + id + "\" but its name says \""
          + name.sandboxId() + "\"");
    }
    Node registered = present(s, "registeredMetrics");
    if (registered != null && !registered.isObject()) {
      throw new StateFileException(file, "sandbox.registeredMetrics: expected an object, got " + registered.kind());
    }
    return new ContainerState.SandboxRecord(
        id,
        integer(s, "pid", "sandbox.pid", Integer.MIN_VALUE, Integer.MAX_VALUE),
        string(s, "podName", "sandbox.podName"),
        string(s, "namespace", "sandbox.namespace"),
        string(s, "controlSocketPath", "sandbox.controlSocketPath"),
        string(s, "metricServerAddress", "sandbox.metricServerAddress"),
        stringMap(s, "metricMetadata", "sandbox.metricMetadata"),
        registered == null ? null : Arrays.copyOfRange(json, registered.start, registered.end),
        new ContainerState.Checkpoint(
            bool(s, "checkpointed", "sandbox.checkpointed"),
            bool(s, "restored", "sandbox.restored"),
            Duration.ofNanos(integer(s, "cpuTimeSaved", "sandbox.cpuTimeSaved", Long.MIN_VALUE, Long.MAX_VALUE)),
            Duration.ofNanos(integer(s, "wallTimeSaved", "sandbox.wallTimeSaved", Long.MIN_VALUE, Long.MAX_VALUE))));
  }

  // ---- typed field access with Go's zero values for absent or null fields ----

  private static Node present(Node parent, String field) {
    Node n = parent.get(field);
    return n == null || n.isNull() ? null : n;
  }

  private Node object(Node parent, String field, String where) throws StateFileException {
    Node n = present(parent, field);
    if (n != null && !n.isObject()) {
      throw wrongType(where, "an object", n);
    }
    return n;
  }

  private String string(Node parent, String field, String where) throws StateFileException {
    Node n = present(parent, field);
    if (n == null) {
      return "";
    }
    if (!n.isTextual()) {
      throw wrongType(where, "a string", n);
    }
    return n.text;
  }

  private boolean bool(Node parent, String field, String where) throws StateFileException {
    Node n = present(parent, field);
    if (n == null) {
      return false;
    }
    if (!n.isBoolean()) {
      throw wrongType(where, "true or false", n);
    }
    return n.token == JsonToken.VALUE_TRUE;
  }

  private long integer(Node parent, String field, String where, long min, long max) throws StateFileException {
    Node n = present(parent, field);
    if (n == null) {
      return 0;
    }
    // An integer token beyond the range of long arrives as a BigInteger.
    if (!(n.number instanceof Integer || n.number instanceof Long)
        || n.number.longValue() < min || n.number.longValue() > max) {
      throw wrongType(where, "an integer from " + min + " to " + max, n);
    }
    return n.number.longValue();
  }

  private Map<String, String> stringMap(Node parent, String field, String where) throws StateFileException {
    Node n = object(parent, field, where);
    Map<String, String> m = new LinkedHashMap<>();
    if (n != null) {
      for (Map.Entry<String, Node> e : n.members.entrySet()) {
        if (!e.getValue().isTextual()) {
          throw wrongType(where + "." + e.getKey(), "a string", e.getValue());
        }
        m.put(e.getKey(), e.getValue().text);
      }
    }
    return m;
  }

  private List<String> stringList(Node parent, String field, String where) throws StateFileException {
    Node n = present(parent, field);
    List<String> list = new ArrayList<>();
    if (n == null) {
      return list;
    }
    if (!n.isArray()) {
      throw wrongType(where, "an array", n);
    }
    for (int i = 0; i < n.elements.size(); i++) {
      Node e = n.elements.get(i);
      if (!e.isTextual()) {
        throw wrongType(where + "[" + i + "]", "a string", e);
      }
      list.add(e.text);
    }
    return list;
  }

  private Instant time(Node parent, String field) throws StateFileException {
    Node n = present(parent, field);
    if (n == null) {
      return RunscTime.GO_ZERO_TIME; // what runsc sees for a state file without createdAt
    }
    if (!n.isTextual()) {
      throw wrongType(field, "an RFC 3339 time string", n);
    }
    try {
      // Go's RFC 3339 rules, as runsc's decoder applies them (seconds required, digits past nanoseconds
      // ignored), not java.time's ISO ones.
      return RunscTime.parseRfc3339(n.text);
    } catch (IllegalArgumentException e) {
      throw new StateFileException(
          file, field + ": \"" + abbreviate(n.text) + "\" is not an RFC 3339 time: " + e.getMessage(), e);
    }
  }

  private StateFileException wrongType(String where, String expected, Node got) {
    return new StateFileException(file, where + ": expected " + expected + ", got " + got.kind()
        + (got.isScalar() ? " " + abbreviate(got.json()) : ""));
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }

  private static String at(JsonLocation location) {
    return location == null ? "" : " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
  }

  private static String describe(JsonToken t) {
    return switch (t) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> t.asString() == null ? t.name() : "'" + t.asString() + "'";
    };
  }

  // ---- reading ----

  /**
   * Reads the value the parser is on, keeping what {@code shape} asks for; leaves the parser on the value's
   * last token. Strings and numbers that are skipped are decoded all the same, so that a bad escape or an
   * over-long number is an error wherever it is, as when reading a whole tree.
   */
  private static Node read(JsonParser p, Shape shape) throws IOException {
    JsonToken t = p.currentToken();
    Node n = new Node(t);
    switch (t) {
      case START_OBJECT -> {
        if (shape.members == null && shape.values == null) {
          skip(p, n, shape);
        } else {
          n.members = new LinkedHashMap<>();
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            Shape member = shape.values != null ? shape.values : shape.members.get(name);
            p.nextToken();
            if (member == null) {
              skip(p, null, Shape.SCALAR);
            } else {
              n.members.put(name, read(p, member)); // a later duplicate replaces the earlier one in its place
            }
          }
        }
      }
      case START_ARRAY -> {
        if (shape.elements == null) {
          skip(p, n, shape);
        } else {
          n.elements = new ArrayList<>();
          while (p.nextToken() != JsonToken.END_ARRAY) {
            n.elements.add(read(p, shape.elements));
          }
        }
      }
      case VALUE_STRING -> n.text = p.getText();
      case VALUE_NUMBER_INT -> n.number = p.getNumberValue();
      case VALUE_NUMBER_FLOAT -> n.number = p.getDoubleValue();
      default -> {
        // true, false, null: the token says it all
      }
    }
    return n;
  }

  /** Skips the object or array the parser is on (if any), recording its byte range when asked. */
  private static void skip(JsonParser p, Node n, Shape shape) throws IOException {
    JsonToken t = p.currentToken();
    if (shape == Shape.BYTES && n != null) {
      n.start = (int) p.currentTokenLocation().getByteOffset();
    }
    if (t.isStructStart()) {
      int depth = 1;
      while (depth > 0) {
        JsonToken next = p.nextToken();
        if (next.isStructStart()) {
          depth++;
        } else if (next.isStructEnd()) {
          depth--;
        } else if (next == JsonToken.VALUE_STRING) {
          p.getText();
        } else if (next.isNumeric()) {
          p.getNumberValue();
        }
      }
    } else if (t == JsonToken.VALUE_STRING) {
      p.getText();
    } else if (t.isNumeric()) {
      p.getNumberValue();
    }
    if (shape == Shape.BYTES && n != null) {
      n.end = (int) p.currentTokenLocation().getByteOffset() + 1;
    }
  }

  /** Which members of a value to keep: an object's named members, a map's every member, an array's elements. */
  private static final class Shape {
    /** A value whose kind and scalar value matter; an object or array there is skipped. */
    static final Shape SCALAR = new Shape(null, null, null);
    /** An object kept as the bytes it spans. */
    static final Shape BYTES = new Shape(null, null, null);

    final Map<String, Shape> members;
    final Shape values;
    final Shape elements;

    private Shape(Map<String, Shape> members, Shape values, Shape elements) {
      this.members = members;
      this.values = values;
      this.elements = elements;
    }

    static Shape object(Map<String, Shape> members) {
      return new Shape(members, null, null);
    }

    static Shape map(Shape values) {
      return new Shape(null, values, null);
    }

    static Shape array(Shape elements) {
      return new Shape(null, null, elements);
    }
  }

  /** One JSON value: its token, a scalar's value, the kept members or elements, a kept byte range. */
  private static final class Node {
    final JsonToken token;
    String text;
    Number number;
    Map<String, Node> members = Map.of();
    List<Node> elements = List.of();
    int start;
    int end;

    Node(JsonToken token) {
      this.token = token;
    }

    Node get(String field) {
      return members.get(field);
    }

    boolean isObject() {
      return token == JsonToken.START_OBJECT;
    }

    boolean isArray() {
      return token == JsonToken.START_ARRAY;
    }

    boolean isNull() {
      return token == JsonToken.VALUE_NULL;
    }

    boolean isTextual() {
      return token == JsonToken.VALUE_STRING;
    }

    boolean isBoolean() {
      return token == JsonToken.VALUE_TRUE || token == JsonToken.VALUE_FALSE;
    }

    boolean isScalar() {
      return !token.isStructStart();
    }

    String kind() {
      return switch (token) {
        case START_ARRAY -> "an array";
        case START_OBJECT -> "an object";
        case VALUE_STRING -> "a string";
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
        case VALUE_TRUE, VALUE_FALSE -> "a boolean";
        default -> "null";
      };
    }

    /** A scalar as JSON text, the way the file's error messages quote it. */
    String json() {
      return switch (token) {
        case VALUE_STRING -> "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(text)) + "\"";
        case VALUE_NUMBER_INT -> number.toString();
        // A float too large for a double reads as infinity, which JSON cannot write as a number.
        case VALUE_NUMBER_FLOAT -> Double.isFinite(number.doubleValue()) ? number.toString() : "\"" + number + "\"";
        default -> token.asString();
      };
    }
  }
}
