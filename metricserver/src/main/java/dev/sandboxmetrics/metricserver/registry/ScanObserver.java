package dev.sandboxmetrics.metricserver.registry;

import dev.sandboxmetrics.runsc.discovery.SandboxInfo;
import java.util.Set;

/**
 * Told by {@link SandboxRegistry} what each scan found besides the served sandboxes: which sandbox IDs have
 * state files, and why a sandbox is not served. The registry itself only logs these; the status page
 * ({@code /sandboxes}) keeps them to show every sandbox the server knows. Called on the scanning thread,
 * under the registry's lock: implementations must be quick and must not call back into the registry.
 */
public interface ScanObserver {
  /** Observes nothing. */
  ScanObserver NONE = new ScanObserver() {};

  /** The sandbox IDs that have state files at this scan; anything else can be forgotten. */
  default void listed(Set<String> sandboxIds) {}

  /** A state file of the sandbox is locked (runsc is creating or changing it); looked at again next scan. */
  default void locked(String sandboxId) {}

  /** The sandbox's state files cannot be read or do not form a sandbox. */
  default void unreadable(String sandboxId, String why) {}

  /**
   * The sandbox's state files were read and it is not (or no longer) served: another metric server's, no
   * metrics registered, or not running.
   *
   * @param info what its state files said, or null when no longer known (it stopped while served and the
   *     root directory could not be listed)
   * @param why the reason in plain words
   */
  default void notServed(String sandboxId, SandboxInfo info, String why) {}

  /** A served sandbox stopped running and is no longer served. */
  default void stopped(ServedSandbox sandbox) {}
}
