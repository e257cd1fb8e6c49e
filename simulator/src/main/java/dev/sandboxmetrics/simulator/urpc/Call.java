package dev.sandboxmetrics.simulator.urpc;

/**
 * One uRPC call as a runsc sandbox's Go server decodes it: {@code {"method":M,"arg":A}}, matched the way
 * encoding/json matches (keys case-insensitively, the last duplicate wins, {@code null} leaves a field
 * unset). The argument is kept only as far as the metric calls need it: its JSON kind, and the kind and
 * value of {@code only_metrics} when it is an object. Handlers turn those into Go's own error replies.
 *
 * @param method the method name, "" when absent or null
 * @param arg the kind of {@code arg}; {@link JsonKind#MISSING} when the call had none
 * @param onlyMetricsKind the kind of {@code arg.only_metrics}; {@link JsonKind#MISSING} when absent
 * @param onlyMetrics its value when it was a string, else ""
 * @param argString the value of {@code arg} when it is a JSON string (containerManager.Event's container
 *     ID), else ""
 */
public record Call(String method, JsonKind arg, JsonKind onlyMetricsKind, String onlyMetrics, String argString) {
  public static final String EXPORT = "Metrics.Export";
  public static final String GET_REGISTERED_METRICS = "Metrics.GetRegisteredMetrics";
  /** runsc's {@code boot.ContMgrEvent}: what {@code runsc events --stats} calls, with a container ID. */
  public static final String EVENT = "containerManager.Event";

  /** A call whose argument is not a string. */
  public Call(String method, JsonKind arg, JsonKind onlyMetricsKind, String onlyMetrics) {
    this(method, arg, onlyMetricsKind, onlyMetrics, "");
  }

  /** The JSON kind of a value, named as Go names it in its unmarshalling errors. */
  public enum JsonKind {
    MISSING("missing"),
    NULL("null"),
    STRING("string"),
    NUMBER("number"),
    BOOL("bool"),
    OBJECT("object"),
    ARRAY("array");

    private final String goName;

    JsonKind(String goName) {
      this.goName = goName;
    }

    /** The word encoding/json uses in "cannot unmarshal WORD into ...". */
    public String goName() {
      return goName;
    }
  }
}
