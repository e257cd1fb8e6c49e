package dev.sandboxmetrics.simulator.state;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.posix.Flock;
import dev.sandboxmetrics.runsc.discovery.ContainerState;
import dev.sandboxmetrics.runsc.discovery.StateFileName;
import dev.sandboxmetrics.simulator.ContainerSpec;
import dev.sandboxmetrics.snapshot.golang.GoJsonWriter;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes and removes runsc state files exactly where and how runsc does: {@code ROOT/<cid>_sandbox:<sid>.state}
 * holding the Go encoding of runsc's {@code Container} struct (field order, names, Go's time format), with
 * the container's {@code .lock} file held by {@code flock(2)} throughout, so that a reader following
 * runsc's locking never sees a file being changed. Unlike runsc, which rewrites the file in place, we write a
 * temporary file and rename it, so that even a reader that does not lock never sees half a file.
 */
public final class StateFiles {
  /** Linux's default cgroup v2 controllers, for sandboxes given a cgroup path. */
  private static final List<String> CGROUP_CONTROLLERS =
      List.of("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc");

  private StateFiles() {}

  /** {@code ROOT/<cid>_sandbox:<sid>.state}, named as the product reads it ({@link StateFileName}). */
  public static Path statePath(Path root, String containerId, String sandboxId) {
    return new StateFileName(containerId, sandboxId).statePath(root);
  }

  public static Path lockPath(Path root, String containerId, String sandboxId) {
    return new StateFileName(containerId, sandboxId).lockPath(root);
  }

  /** Writes (or replaces) a container's state file under its lock; creates the lock file when missing. */
  public static void write(Path root, ContainerRecord c, ZoneId zone) throws IOException {
    Path state = statePath(root, c.containerId(), c.sandboxId());
    Flock lock = Flock.lock(lockPath(root, c.containerId(), c.sandboxId()));
    try {
      // The temporary name does not match runsc's *_sandbox:*.state glob, so scanners never pick it up.
      Path tmp =
          Files.createTempFile(root, ".simulator-", ".tmp",
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")));
      try {
        try (OutputStream out = Files.newOutputStream(tmp);
            JsonGenerator g = GoJsonWriter.generator(out)) {
          writeContainer(g, root, c, zone);
        }
        try {
          Files.move(tmp, state, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, state, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    } finally {
      lock.close();
    }
  }

  /**
   * Removes a container's state file and then its lock file, holding the lock while the state file goes,
   * as runsc's destroy does.
   */
  public static void remove(Path root, String containerId, String sandboxId) throws IOException {
    Path lockFile = lockPath(root, containerId, sandboxId);
    Flock lock = Flock.lock(lockFile);
    try {
      Files.deleteIfExists(statePath(root, containerId, sandboxId));
      Files.deleteIfExists(lockFile);
    } finally {
      lock.close();
    }
  }

  private static void writeContainer(JsonGenerator g, Path root, ContainerRecord c, ZoneId zone)
      throws IOException {
    g.writeStartObject();
    g.writeStringField("id", c.containerId());
    g.writeFieldName("spec");
    writeSpec(g, c);
    g.writeStringField("bundleDir", root.resolve("bundles").resolve(c.containerId()).toString());
    g.writeStringField("createdAt", RunscTime.formatRfc3339Nano(c.createdAt(), zone));
    g.writeStringField("owner", System.getenv().getOrDefault("USER", ""));
    g.writeStringField("consoleSocket", "");
    g.writeStringField("status", c.status());
    g.writeNumberField("goferPid", 0);
    g.writeFieldName("sandbox");
    writeSandbox(g, c.sandbox(), zone);
    g.writeFieldName("compatCgroup");
    writeCgroup(g, null);
    g.writeObjectFieldStart("saver");
    g.writeStringField("rootDir", root.toString());
    g.writeObjectFieldStart("id");
    g.writeStringField("sandboxId", c.sandboxId());
    g.writeStringField("containerId", c.containerId());
    g.writeEndObject();
    g.writeEndObject();
    // One gofer mount: lisafs with a self-backed overlay (runsc's default --overlay2=root:self).
    g.writeArrayFieldStart("goferMountConfs");
    g.writeStartObject();
    g.writeNumberField("lower", 1);
    g.writeNumberField("upper", 2);
    g.writeEndObject();
    g.writeEndArray();
    g.writeEndObject();
  }

  /** The OCI runtime spec (opencontainers/runtime-spec's Go structs), as much of it as runsc users read. */
  private static void writeSpec(JsonGenerator g, ContainerRecord c) throws IOException {
    g.writeStartObject();
    g.writeStringField("ociVersion", c.ociVersion());
    g.writeObjectFieldStart("process");
    g.writeObjectFieldStart("user");
    g.writeNumberField("uid", c.uid());
    g.writeNumberField("gid", c.gid());
    g.writeEndObject();
    stringArray(g, "args", c.args());
    stringArray(g, "env", List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    g.writeStringField("cwd", "/");
    ContainerState.Capabilities caps = c.capabilities();
    if (caps != null) {
      g.writeObjectFieldStart("capabilities");
      stringArray(g, "bounding", caps.bounding());
      stringArray(g, "effective", caps.effective());
      stringArray(g, "inheritable", caps.inheritable());
      stringArray(g, "permitted", caps.permitted());
      stringArray(g, "ambient", caps.ambient());
      g.writeEndObject();
    }
    g.writeBooleanField("noNewPrivileges", true);
    g.writeEndObject();
    g.writeObjectFieldStart("root");
    g.writeStringField("path", "rootfs");
    g.writeBooleanField("readonly", true);
    g.writeEndObject();
    if (c.hostname() != null && !c.hostname().isEmpty()) {
      g.writeStringField("hostname", c.hostname());
    }
    if (!c.annotations().isEmpty()) {
      g.writeObjectFieldStart("annotations");
      for (Map.Entry<String, String> e : new TreeMap<>(c.annotations()).entrySet()) {
        g.writeStringField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
    }
    g.writeObjectFieldStart("linux");
    if (c.cgroupsPath() != null) {
      g.writeStringField("cgroupsPath", c.cgroupsPath());
    }
    ContainerSpec.Resources r = c.resources();
    if (r != null) {
      // opencontainers/runtime-spec's LinuxResources: every field is a pointer with omitempty.
      g.writeObjectFieldStart("resources");
      if (r.memoryLimit() != null) {
        g.writeObjectFieldStart("memory");
        g.writeNumberField("limit", r.memoryLimit());
        g.writeEndObject();
      }
      if (r.cpuShares() != null || r.cpuQuota() != null || r.cpuPeriod() != null) {
        g.writeObjectFieldStart("cpu");
        if (r.cpuShares() != null) {
          g.writeNumberField("shares", r.cpuShares());
        }
        if (r.cpuQuota() != null) {
          g.writeNumberField("quota", r.cpuQuota());
        }
        if (r.cpuPeriod() != null) {
          g.writeNumberField("period", r.cpuPeriod());
        }
        g.writeEndObject();
      }
      g.writeEndObject();
    }
    g.writeArrayFieldStart("namespaces");
    for (String ns : List.of("pid", "ipc", "uts", "mount", "network")) {
      g.writeStartObject();
      g.writeStringField("type", ns);
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
    g.writeEndObject();
  }

  private static void writeSandbox(JsonGenerator g, ContainerRecord.Sandbox s, ZoneId zone)
      throws IOException {
    g.writeStartObject();
    g.writeStringField("id", s.id());
    g.writeStringField("podName", s.podName());
    g.writeStringField("namespace", s.namespace());
    g.writeNumberField("pid", s.pid());
    g.writeNumberField("uid", s.uid());
    g.writeNumberField("gid", s.gid());
    g.writeFieldName("cgroup");
    writeCgroup(g, s.cgroupPath());
    g.writeNumberField("originalOomScoreAdj", 0);
    g.writeFieldName("registeredMetrics");
    if (s.registeredMetrics() == null) {
      g.writeNull();
    } else {
      GoJsonWriter.writeRegistration(g, s.registeredMetrics());
    }
    g.writeFieldName("metricMetadata");
    if (s.metricMetadata() == null) {
      g.writeNull();
    } else {
      g.writeStartObject();
      for (Map.Entry<String, String> e : new TreeMap<>(s.metricMetadata()).entrySet()) {
        g.writeStringField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
    }
    g.writeStringField("metricServerAddress", s.metricServerAddress());
    g.writeStringField("controlSocketPath", s.controlSocketPath());
    g.writeNullField("mountHints");
    g.writeStringField(
        "startTime",
        RunscTime.formatRfc3339Nano(s.startTime() == null ? java.time.Instant.EPOCH : s.startTime(), zone));
    ContainerState.Checkpoint checkpoint = s.checkpoint();
    g.writeBooleanField("checkpointed", checkpoint.checkpointed());
    g.writeBooleanField("restored", checkpoint.restored());
    g.writeNumberField("cpuTimeSaved", checkpoint.cpuTimeSaved().toNanos());
    g.writeNumberField("wallTimeSaved", checkpoint.wallTimeSaved().toNanos());
    g.writeEndObject();
  }

  /** runsc's CgroupJSON: {@code {"cgroupv2":{...}}}, or {@code {"cgroupunknown":null}} for none. */
  private static void writeCgroup(JsonGenerator g, String path) throws IOException {
    g.writeStartObject();
    if (path == null) {
      g.writeNullField("cgroupunknown");
    } else {
      g.writeObjectFieldStart("cgroupv2");
      g.writeStringField("mountpoint", "/sys/fs/cgroup");
      g.writeStringField("path", path);
      stringArray(g, "controllers", CGROUP_CONTROLLERS);
      g.writeNullField("own");
      g.writeEndObject();
    }
    g.writeEndObject();
  }

  /** A string slice with {@code omitempty}: left out when empty. */
  private static void stringArray(JsonGenerator g, String name, List<String> values) throws IOException {
    if (values == null || values.isEmpty()) {
      return;
    }
    g.writeArrayFieldStart(name);
    for (String v : values) {
      g.writeString(v);
    }
    g.writeEndArray();
  }
}
