package dev.sandboxmetrics.metricserver.containerstats;

import dev.sandboxmetrics.posix.Flock;
import dev.sandboxmetrics.runsc.discovery.FileIdentity;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.runsc.discovery.StateFileName;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The containers of every sandbox in the root directory, from their state files, re-read only when a file's
 * stat identity changed. One listing of the root directory per scrape; a state file locked by runsc keeps
 * its last known facts (or is skipped the first time). Which containers a sandbox has is what the root
 * directory lists, never what the sandbox says. Thread-safe (calls are serialized).
 */
final class StateFacts {
  private static final Logger log = LoggerFactory.getLogger(StateFacts.class);

  private record Cached(FileIdentity identity, ContainerFacts facts) {}

  private final RootDirectory root;
  private final Map<StateFileName, Cached> cache = new HashMap<>();

  StateFacts(RootDirectory root) {
    this.root = root;
  }

  /** Every container by sandbox ID, containers sorted by ID. */
  synchronized Map<String, List<ContainerFacts>> scan() {
    List<RootDirectory.Listed> files;
    try {
      // Listed with their identities, as the registry's scans are: one stat per file relative to the listing.
      files = root.listStateFilesWithIdentities();
    } catch (IOException e) {
      log.debug("Cannot list {} for container stats: {}", root, e.toString());
      return Map.of();
    }
    Map<String, List<ContainerFacts>> out = new TreeMap<>();
    Map<StateFileName, Cached> seen = new HashMap<>();
    for (RootDirectory.Listed file : files) {
      if (file.statFailure() != null) {
        continue; // Gone since the listing.
      }
      ContainerFacts facts = load(file.name(), file.identity(), seen);
      if (facts != null) {
        out.computeIfAbsent(file.name().sandboxId(), k -> new ArrayList<>()).add(facts);
      }
    }
    cache.keySet().retainAll(seen.keySet());
    cache.putAll(seen);
    for (List<ContainerFacts> l : out.values()) {
      l.sort((a, b) -> a.id().compareTo(b.id()));
    }
    return out;
  }

  private ContainerFacts load(StateFileName name, FileIdentity identity, Map<StateFileName, Cached> seen) {
    Cached old = cache.get(name);
    if (old != null && old.identity().equals(identity)) {
      seen.put(name, old);
      return old.facts();
    }
    Flock lock = null;
    try {
      try {
        lock = Flock.tryLock(name.lockPath(root.path()), false);
        if (lock == null) {
          if (old != null) {
            seen.put(name, old); // runsc is writing it: keep what we knew, look again next time.
            return old.facts();
          }
          return null;
        }
      } catch (NoSuchFileException e) {
        lock = null; // Not written by a locking runsc.
      }
      byte[] bytes = Files.readAllBytes(name.statePath(root.path()));
      ContainerFacts facts = ContainerFacts.parse(name.containerId(), name.sandboxId(), bytes);
      seen.put(name, new Cached(identity, facts));
      return facts;
    } catch (IOException e) {
      log.debug("Cannot read state file {} for container stats: {}", name, e.toString());
      return null;
    } finally {
      if (lock != null) {
        lock.close();
      }
    }
  }
}
