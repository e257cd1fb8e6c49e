package dev.sandboxmetrics.metricserver.discovery;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
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
 */
final class StateFileParser {
  /** Go's zero {@code time.Time}, what runsc sees for a state file without {@code createdAt}. */
  static final Instant GO_ZERO_TIME = Instant.parse("0001-01-01T00:00:00Z");

  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

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
    JsonNode top;
    try {
      top = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new StateFileException(file, "not valid JSON: " + e.getOriginalMessage()
          + (e.getLocation() != null
              ? " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")"
              : ""), e);
    } catch (IOException e) {
      throw new StateFileException(file, "cannot be parsed: " + e.getMessage(), e);
    }
    if (top == null || top.isMissingNode()) {
      throw new StateFileException(file, "is empty");
    }
    if (!top.isObject()) {
      throw new StateFileException(file, "expected a JSON object, got " + kind(top));
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
    ContainerState.SandboxRecord sandbox = sandbox(object(top, "sandbox", "sandbox"), name);
    return new ContainerState(name, file, identity, id, createdAt, status, spec, sandbox);
  }

  private ContainerState.Spec spec(JsonNode spec) throws StateFileException {
    if (spec == null) {
      return new ContainerState.Spec("", null, null, null);
    }
    String ociVersion = string(spec, "ociVersion", "spec.ociVersion");
    Map<String, String> annotations = stringMap(spec, "annotations", "spec.annotations");
    JsonNode process = object(spec, "process", "spec.process");
    if (process == null) {
      return new ContainerState.Spec(ociVersion, null, null, annotations);
    }
    JsonNode user = object(process, "user", "spec.process.user");
    long uid = user == null ? 0 : integer(user, "uid", "spec.process.user.uid", 0, 0xFFFF_FFFFL);
    JsonNode caps = object(process, "capabilities", "spec.process.capabilities");
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

  private ContainerState.SandboxRecord sandbox(JsonNode s, StateFileName name) throws StateFileException {
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
    JsonNode registered = s.get("registeredMetrics");
    if (registered != null && registered.isNull()) {
      registered = null;
    }
    if (registered != null && !registered.isObject()) {
      throw new StateFileException(file, "sandbox.registeredMetrics: expected an object, got " + kind(registered));
    }
    return new ContainerState.SandboxRecord(
        id,
        integer(s, "pid", "sandbox.pid", Integer.MIN_VALUE, Integer.MAX_VALUE),
        string(s, "podName", "sandbox.podName"),
        string(s, "namespace", "sandbox.namespace"),
        string(s, "controlSocketPath", "sandbox.controlSocketPath"),
        string(s, "metricServerAddress", "sandbox.metricServerAddress"),
        stringMap(s, "metricMetadata", "sandbox.metricMetadata"),
        registered,
        bool(s, "checkpointed", "sandbox.checkpointed"),
        bool(s, "restored", "sandbox.restored"),
        Duration.ofNanos(integer(s, "cpuTimeSaved", "sandbox.cpuTimeSaved", Long.MIN_VALUE, Long.MAX_VALUE)),
        Duration.ofNanos(integer(s, "wallTimeSaved", "sandbox.wallTimeSaved", Long.MIN_VALUE, Long.MAX_VALUE)));
  }

  // ---- typed field access with Go's zero values for absent or null fields ----

  private static JsonNode present(JsonNode parent, String field) {
    JsonNode n = parent.get(field);
    return n == null || n.isNull() ? null : n;
  }

  private JsonNode object(JsonNode parent, String field, String where) throws StateFileException {
    JsonNode n = present(parent, field);
    if (n != null && !n.isObject()) {
      throw wrongType(where, "an object", n);
    }
    return n;
  }

  private String string(JsonNode parent, String field, String where) throws StateFileException {
    JsonNode n = present(parent, field);
    if (n == null) {
      return "";
    }
    if (!n.isTextual()) {
      throw wrongType(where, "a string", n);
    }
    return n.textValue();
  }

  private boolean bool(JsonNode parent, String field, String where) throws StateFileException {
    JsonNode n = present(parent, field);
    if (n == null) {
      return false;
    }
    if (!n.isBoolean()) {
      throw wrongType(where, "true or false", n);
    }
    return n.booleanValue();
  }

  private long integer(JsonNode parent, String field, String where, long min, long max)
      throws StateFileException {
    JsonNode n = present(parent, field);
    if (n == null) {
      return 0;
    }
    if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < min || n.longValue() > max) {
      throw wrongType(where, "an integer from " + min + " to " + max, n);
    }
    return n.longValue();
  }

  private Map<String, String> stringMap(JsonNode parent, String field, String where)
      throws StateFileException {
    JsonNode n = object(parent, field, where);
    Map<String, String> m = new LinkedHashMap<>();
    if (n != null) {
      for (var it = n.fields(); it.hasNext(); ) {
        var e = it.next();
        if (!e.getValue().isTextual()) {
          throw wrongType(where + "." + e.getKey(), "a string", e.getValue());
        }
        m.put(e.getKey(), e.getValue().textValue());
      }
    }
    return m;
  }

  private List<String> stringList(JsonNode parent, String field, String where) throws StateFileException {
    JsonNode n = present(parent, field);
    List<String> list = new ArrayList<>();
    if (n == null) {
      return list;
    }
    if (!n.isArray()) {
      throw wrongType(where, "an array", n);
    }
    for (int i = 0; i < n.size(); i++) {
      if (!n.get(i).isTextual()) {
        throw wrongType(where + "[" + i + "]", "a string", n.get(i));
      }
      list.add(n.get(i).textValue());
    }
    return list;
  }

  private Instant time(JsonNode parent, String field) throws StateFileException {
    JsonNode n = present(parent, field);
    if (n == null) {
      return GO_ZERO_TIME;
    }
    if (!n.isTextual()) {
      throw wrongType(field, "an RFC 3339 time string", n);
    }
    try {
      return OffsetDateTime.parse(n.textValue(), DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      throw new StateFileException(file, field + ": \"" + n.textValue() + "\" is not an RFC 3339 time", e);
    }
  }

  private StateFileException wrongType(String where, String expected, JsonNode got) {
    return new StateFileException(file, where + ": expected " + expected + ", got " + kind(got)
        + (got.isValueNode() ? " " + abbreviate(got.toString()) : ""));
  }

  private static String kind(JsonNode n) {
    return switch (n.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT, POJO -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> n.getNodeType().toString().toLowerCase();
    };
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }
}
