package dev.sandboxmetrics.metricserver.containerstats;

import dev.sandboxmetrics.runsc.control.ControlProtocol;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sandbox's answer to {@code containerManager.Event} (runsc's {@code boot.EventOut}; docs/container-stats.md
 * has the shape): the container's memory and task count, the sandbox's network interfaces, and the CPU time
 * the sentry accounts to each of its containers. Every 64-bit number is a Go uint64 kept in a long's bits.
 * {@link #decode} checks the untrusted reply's syntax and types; the collector checks what the numbers mean.
 *
 * @param containerUsage nanoseconds per container ID, as sent (empty when the map was null or absent)
 */
public record EventReply(
    String type,
    String id,
    long memoryUsage,
    long pidsCurrent,
    List<NetworkInterface> interfaces,
    Map<String, Long> containerUsage) {

  /** runsc's {@code boot.NetworkInterface}: counters of one interface of the sandbox's network stack. */
  public record NetworkInterface(String name, long rxBytes, long rxPackets, long rxErrors, long rxDropped, long txBytes,
      long txPackets, long txErrors, long txDropped) {}

  /** A reply that is not a usable EventOut, or a failed call. */
  static final class EventException extends Exception {
    private static final long serialVersionUID = 1L;
    final String reason;

    EventException(String reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  /**
   * Decodes a uRPC reply {@code {"success":...,"err":...,"result":EventOut}}.
   *
   * @throws EventException with reason {@code event_error} for success:false, {@code malformed} otherwise
   */
  static EventReply decode(byte[] bytes, int length) throws EventException {
    Object reply;
    try {
      reply = JsonTree.parse(bytes, length);
    } catch (IOException e) {
      throw new EventException("malformed", "malformed reply: " + e.getMessage());
    }
    if (JsonTree.object(reply) == null) {
      throw new EventException("malformed", "the reply is not a JSON object");
    }
    if (!Boolean.TRUE.equals(JsonTree.get(reply, "success"))) {
      String err = JsonTree.string(JsonTree.get(reply, "err"));
      throw new EventException("event_error", "the sandbox failed " + ControlProtocol.EVENT + ": "
          + ControlProtocol.remoteText(err));
    }
    try {
      return fromResult(JsonTree.get(reply, "result"));
    } catch (IOException e) {
      throw new EventException("malformed", "malformed EventOut: " + e.getMessage());
    }
  }

  private static EventReply fromResult(Object result) throws IOException {
    if (JsonTree.object(result) == null) {
      throw new IOException("result is not an object");
    }
    Object event = JsonTree.get(result, "event");
    if (JsonTree.object(event) == null) {
      throw new IOException("event is not an object");
    }
    String type = JsonTree.string(JsonTree.get(event, "type"));
    String id = JsonTree.string(JsonTree.get(event, "id"));
    if (id == null) {
      throw new IOException("event.id is not a string");
    }
    Object data = JsonTree.get(event, "data");
    // Go's omitempty leaves zero values out: a missing number is 0.
    long memory = optionalUint64(JsonTree.path(data, "memory", "usage", "usage"), "memory.usage.usage");
    long pids = optionalUint64(JsonTree.path(data, "pids", "current"), "pids.current");
    List<NetworkInterface> interfaces = new ArrayList<>();
    Object list = JsonTree.get(data, "network_interfaces");
    if (list instanceof List<?> l) {
      for (Object o : l) {
        if (o == null) {
          continue; // A nil *NetworkInterface in the slice encodes as null.
        }
        String name = JsonTree.string(JsonTree.get(o, "Name"));
        if (name == null) {
          throw new IOException("a network interface has no Name");
        }
        interfaces.add(new NetworkInterface(name,
            optionalUint64(JsonTree.get(o, "RxBytes"), "RxBytes"),
            optionalUint64(JsonTree.get(o, "RxPackets"), "RxPackets"),
            optionalUint64(JsonTree.get(o, "RxErrors"), "RxErrors"),
            optionalUint64(JsonTree.get(o, "RxDropped"), "RxDropped"),
            optionalUint64(JsonTree.get(o, "TxBytes"), "TxBytes"),
            optionalUint64(JsonTree.get(o, "TxPackets"), "TxPackets"),
            optionalUint64(JsonTree.get(o, "TxErrors"), "TxErrors"),
            optionalUint64(JsonTree.get(o, "TxDropped"), "TxDropped")));
      }
    } else if (list != null) {
      throw new IOException("network_interfaces is not an array");
    }
    Map<String, Long> usage = new LinkedHashMap<>();
    Object map = JsonTree.get(result, "containerUsage");
    if (map != null) {
      Map<String, Object> m = JsonTree.object(map);
      if (m == null) {
        throw new IOException("containerUsage is not an object");
      }
      for (Map.Entry<String, Object> e : m.entrySet()) {
        usage.put(e.getKey(), JsonTree.uint64(e.getValue(), "containerUsage[" + e.getKey() + "]"));
      }
    }
    return new EventReply(type, id, memory, pids, List.copyOf(interfaces), Collections.unmodifiableMap(usage));
  }

  private static long optionalUint64(Object v, String what) throws IOException {
    return v == null ? 0 : JsonTree.uint64(v, what);
  }
}
