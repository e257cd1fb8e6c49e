package dev.sandboxmetrics.runsc.discovery;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The outcome of resolving a container ID or ID prefix given by a user ({@code export-metrics ID}): an
 * exact container ID wins; otherwise the one container whose ID starts with it; otherwise it is ambiguous
 * (naming the candidates) or not found. See {@link RootDirectory#findContainer}.
 */
public sealed interface ContainerLookup {
  record Found(StateFileName container) implements ContainerLookup {}

  record NotFound(String idOrPrefix, Path root) implements ContainerLookup {}

  record Ambiguous(String idOrPrefix, List<StateFileName> candidates) implements ContainerLookup {
    public Ambiguous {
      candidates = List.copyOf(candidates);
    }
  }

  /** The container found, or an exception whose message a user can act on. */
  default StateFileName orElseThrow() throws DiscoveryException {
    if (this instanceof Found f) {
      return f.container();
    }
    if (this instanceof NotFound n) {
      throw new DiscoveryException(
          "no container with ID or ID prefix \"" + n.idOrPrefix() + "\" in root directory " + n.root());
    }
    Ambiguous a = (Ambiguous) this;
    throw new DiscoveryException("container ID prefix \"" + a.idOrPrefix() + "\" is ambiguous, it matches "
        + a.candidates().stream()
            .map(c -> c.containerId() + " (sandbox " + c.sandboxId() + ")")
            .collect(Collectors.joining(", ")));
  }
}
