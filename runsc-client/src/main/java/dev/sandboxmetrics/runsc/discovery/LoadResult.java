package dev.sandboxmetrics.runsc.discovery;

import java.nio.file.Path;

/**
 * The outcome of loading a container or a sandbox without waiting for locks. Besides success there are two
 * normal outcomes that are not errors: a state file is locked (runsc is creating or changing it: try again
 * later, say nothing), or the files vanished between listing and reading (the sandbox went away).
 * Real failures (a corrupt or unreadable state file) are thrown as {@link DiscoveryException}.
 *
 * <pre>{@code
 * LoadResult<SandboxInfo> r = root.loadSandbox(id);
 * if (r instanceof LoadResult.Loaded<SandboxInfo> loaded) { use(loaded.value()); }
 * }</pre>
 */
public sealed interface LoadResult<T> {
  /** Loaded. */
  record Loaded<T>(T value) implements LoadResult<T> {}

  /** Another process holds the lock on {@code lockFile}: being created or changed; try later. */
  record Busy<T>(Path lockFile) implements LoadResult<T> {}

  /** The state file(s) of {@code what} no longer exist. */
  record Missing<T>(String what) implements LoadResult<T> {}
}
