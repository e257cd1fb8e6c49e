package dev.sandboxmetrics.simulator;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The ways a simulated sandbox can misbehave on its control socket, settable per sandbox at creation
 * ({@link SandboxSpec.Builder#fault}) and at run time ({@link SimulatedSandbox#setFault}). Each has a stable
 * lower-case name for the command line ({@code --fault stall=3}).
 *
 * <p>The first group breaks the conversation and applies to every call; the second sends a well-formed
 * export reply whose content a verifying client must reject, and applies to {@code Metrics.Export}. A content
 * fault always shows, whatever {@code only_metrics} asks for: if the filter removed what the fault would
 * corrupt, the corrupted data point is added anyway (so the reply also breaks the filter). The exception is
 * {@link #IGNORE_FILTER}, which cannot show when no filter is asked for. The third group ({@code event-*})
 * applies to {@code containerManager.Event} only: the sandbox's metrics stay healthy.
 */
public enum Fault {
  /** A healthy sandbox. */
  NONE("none", "healthy"),
  STALL("stall", "accepts the connection and reads the call, never answers"),
  SLOW("slow", "answers correctly after a delay (default 2 s)"),
  CLOSE("close", "hangs up without answering, as runsc does when Go cannot encode its reply"),
  GARBAGE("garbage", "answers with bytes that are not JSON (braces balanced, syntax broken)"),
  TRUNCATED("truncated", "sends the first half of a correct reply, then hangs up"),
  OVERSIZED("oversized", "streams a well-formed export reply of 128 MiB (configurable)"),
  CLOSE_AFTER_REPLY("close-after-reply", "answers correctly, then hangs up: one call per connection"),
  STRAY_BYTE("stray-byte", "answers correctly and sends one byte more right after the reply"),
  IDLE_BYTE("idle-byte", "answers correctly, then sends one byte 50 ms later, between calls"),
  ERROR("error", "answers success:false with an error message"),
  HOSTILE_ERROR("hostile-error", "answers success:false with an error message full of HTML and script markup"),
  UNKNOWN_METRIC("unknown-metric", "adds a data point of a metric it never registered"),
  BAD_FIELD_VALUE("bad-field-value", "adds a data point whose field value is not an allowed one"),
  COUNTER_DECREASE("counter-decrease", "lowers a counter by a tenth on every export"),
  BAD_BUCKETS("bad-buckets", "moves one histogram bucket's upper bound"),
  FUTURE("future", "stamps its snapshot an hour in the future"),
  TOO_OLD("too-old", "stamps its snapshot a minute in the past"),
  IGNORE_FILTER("ignore-filter", "returns every metric whatever only_metrics asks for"),
  EVENT_ERROR("event-error", "answers containerManager.Event with success:false (metrics calls work)"),
  EVENT_STALL("event-stall", "never answers containerManager.Event (metrics calls work)"),
  EVENT_GARBAGE("event-garbage", "answers containerManager.Event with broken JSON (metrics calls work)"),
  EVENT_CPU_DECREASE("event-cpu-decrease", "reports each container's CPU time lower at every Event"),
  EVENT_UNKNOWN_CONTAINER("event-unknown-container",
      "answers Event for a container that does not exist, and lists it in containerUsage"),
  EVENT_ABSURD_MEMORY("event-absurd-memory", "reports 2^63 bytes of memory for every container");

  /**
   * The error text of {@link #HOSTILE_ERROR}: markup that would run or show if a page put the text into
   * HTML unescaped (a script, an image whose error handler marks the page, a closing tag), for the tests of
   * the status page. Shown escaped, it reads as this text.
   */
  public static final String HOSTILE_ERROR_TEXT =
      "</td></tr></table><script>document.body.dataset.injected='script'</script>"
          + "<img src=x onerror=\"document.body.dataset.injected='img'\"><b id=injected>bold</b> & \"quoted\"";

  private final String cliName;
  private final String description;

  Fault(String cliName, String description) {
    this.cliName = cliName;
    this.description = description;
  }

  /** The name used on the command line, e.g. {@code counter-decrease}. */
  public String cliName() {
    return cliName;
  }

  /** One line saying what the sandbox does. */
  public String description() {
    return description;
  }

  /** True for faults that corrupt the content of an otherwise well-formed export reply. */
  public boolean corruptsContent() {
    switch (this) {
      case UNKNOWN_METRIC:
      case BAD_FIELD_VALUE:
      case COUNTER_DECREASE:
      case BAD_BUCKETS:
      case FUTURE:
      case TOO_OLD:
      case IGNORE_FILTER:
        return true;
      default:
        return false;
    }
  }

  /**
   * True for faults whose answers are correct and that misbehave only with the connection (hang up after
   * replying, bytes after the reply): a client that keeps connections must still get every reply.
   */
  public boolean connectionOnly() {
    return this == CLOSE_AFTER_REPLY || this == STRAY_BYTE || this == IDLE_BYTE;
  }

  /** True for faults that only change the answers to {@code containerManager.Event}. */
  public boolean eventOnly() {
    return cliName.startsWith("event-");
  }

  /**
   * The fault with this command-line name (case-insensitive; the enum constant name works too).
   *
   * @throws IllegalArgumentException naming the valid choices
   */
  public static Fault parse(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    for (Fault f : values()) {
      if (f.cliName.equals(n)) {
        return f;
      }
    }
    throw new IllegalArgumentException(
        "unknown fault \"" + name + "\"; choose one of: " + names());
  }

  /** Every command-line name, comma-separated. */
  public static String names() {
    return Arrays.stream(values()).map(Fault::cliName).collect(Collectors.joining(", "));
  }

  @Override
  public String toString() {
    return cliName;
  }
}
