package dev.sandboxmetrics.metricserver.registry;

import dev.sandboxmetrics.posix.Processes;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.verify.Verifier;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One incarnation of a sandbox this server serves, as its state files described it at the last scan: what to
 * query, the labels of its series, and the facts behind its meta metrics. A sandbox re-created with the same
 * ID is a new incarnation (new {@code iteration}, new verifier).
 *
 * <p>Made by {@link SandboxRegistry}; read by the collector and the meta metrics. Immutable except for the
 * verifier's memory and the last error, which the collector updates.
 */
public final class ServedSandbox {
  /** The facts the state files give; everything except the per-incarnation verifier. */
  public record Facts(
      String id,
      Instant createdAt,
      String iteration,
      Labels labels,
      Path controlSocket,
      long pid,
      boolean checkpointed,
      boolean restored,
      Duration cpuTimeSaved,
      Duration wallTimeSaved,
      Map<String, String> metricMetadata,
      List<String> capabilities,
      Map<String, String> specMetadata) {
    public Facts {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(createdAt, "createdAt");
      Objects.requireNonNull(iteration, "iteration");
      Objects.requireNonNull(labels, "labels");
      Objects.requireNonNull(controlSocket, "controlSocket");
      cpuTimeSaved = cpuTimeSaved == null ? Duration.ZERO : cpuTimeSaved;
      wallTimeSaved = wallTimeSaved == null ? Duration.ZERO : wallTimeSaved;
      metricMetadata = metricMetadata == null ? Map.of() : Map.copyOf(metricMetadata);
      capabilities = capabilities == null ? List.of() : List.copyOf(capabilities);
      specMetadata = specMetadata == null ? Map.of() : Map.copyOf(specMetadata);
    }
  }

  /** What stays the same for one incarnation while its state file changes (e.g. checkpointed). */
  static final class Incarnation {
    final Verifier verifier;
    final String registrationError;
    volatile String lastError;
    volatile int lastReplyBytes;

    Incarnation(Verifier verifier, String registrationError) {
      this.verifier = verifier;
      this.registrationError = registrationError;
    }
  }

  private final Facts facts;
  private final Incarnation incarnation;
  private final String notReadyReason;
  /**
   * What the meta metrics derive from these (immutable) facts, made by them on first use and kept here so
   * that it lives exactly as long as this object: the same label sets and points on every scrape instead of
   * new ones (see {@code MetaMetrics}). Any value is an immutable object; a race makes it twice, harmlessly.
   */
  private volatile Object metaMemo;

  ServedSandbox(Facts facts, Incarnation incarnation) {
    this(facts, incarnation, null);
  }

  private ServedSandbox(Facts facts, Incarnation incarnation, String notReadyReason) {
    this.facts = facts;
    this.incarnation = incarnation;
    this.notReadyReason = notReadyReason;
  }

  /**
   * A sandbox that cannot be read yet and is shown as present and not running (its PID in {@code facts} is
   * 0), for the reason given: the registry makes one for a new sandbox whose lock stays held. It has no
   * verifier; the reason doubles as its registration error, so the collector never queries it.
   */
  static ServedSandbox notReady(Facts facts, String reason) {
    return new ServedSandbox(facts, new Incarnation(null, reason), reason);
  }

  /** Why this sandbox is shown without being read (not running, no data), or null for a served sandbox. */
  public String notReadyReason() {
    return notReadyReason;
  }

  /** A sandbox for tests and tools that build one without scanning a root directory. */
  public static ServedSandbox of(Facts facts, Verifier verifier, String registrationError) {
    return new ServedSandbox(facts, new Incarnation(verifier, registrationError));
  }

  public Facts facts() {
    return facts;
  }

  public String id() {
    return facts.id();
  }

  public String iteration() {
    return facts.iteration();
  }

  /** {@code sandbox}, {@code iteration} and, when known, {@code pod_name} and {@code namespace_name}. */
  public Labels labels() {
    return facts.labels();
  }

  public Path controlSocket() {
    return facts.controlSocket();
  }

  /** The verifier of this incarnation, or null when its registration is invalid. */
  public Verifier verifier() {
    return incarnation.verifier;
  }

  /** Why the registration cannot be used, or null. */
  public String registrationError() {
    return incarnation.registrationError;
  }

  /**
   * runsc's liveness check: the sandbox PID is non-zero and signal 0 to it succeeds. Made by every scan and
   * after every query, hence through the cheaper direct-mapped {@code kill} ({@link Processes#isRunningOften}).
   */
  public boolean isRunning() {
    return Processes.isRunningOften(facts.pid());
  }

  /**
   * The size of this sandbox's last reply in bytes (0 before the first): the control client sizes its
   * buffer with it, so that a reply is read into one array instead of a chain of doublings.
   */
  public int lastReplyBytes() {
    return incarnation.lastReplyBytes;
  }

  public void recordReplyBytes(int bytes) {
    incarnation.lastReplyBytes = bytes;
  }

  /**
   * Records the outcome of an export and says whether it is news: a first failure, a different reason, or a
   * recovery. Lets the collector log a failing sandbox once per reason, not at every scrape.
   */
  public boolean recordOutcome(String error) {
    // Numbers (times, counts, sizes) change from one failure to the next; the reason is the rest.
    String reason = error == null ? null : error.replaceAll("[0-9]+", "#");
    String previous = incarnation.lastError;
    incarnation.lastError = reason;
    return !Objects.equals(previous, reason);
  }

  /** The meta metrics' memo of these facts, or null before their first use (see {@link #metaMemo}). */
  public Object metaMemo() {
    return metaMemo;
  }

  public void setMetaMemo(Object memo) {
    metaMemo = memo;
  }

  Incarnation incarnation() {
    return incarnation;
  }

  @Override
  public String toString() {
    return facts.id() + " (iteration " + facts.iteration() + ")";
  }
}
