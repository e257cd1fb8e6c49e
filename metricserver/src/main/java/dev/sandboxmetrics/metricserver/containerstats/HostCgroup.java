package dev.sandboxmetrics.metricserver.containerstats;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The host cgroup of a sandbox, where the kernel measures what the whole sandbox uses, and the readings the
 * container stats take from it. Located from the {@code cgroup} member of the sandbox record in the state
 * file (runsc's CgroupJSON: {@code cgroupv2}, {@code cgroupsystemd} or {@code cgroupv1}), or, when that is
 * absent, from {@code /proc/<sandbox pid>/cgroup} as runsc's {@code NewFromPid} does. A {@code cgroupRoot}
 * given by the user replaces the recorded mountpoint (a host cgroup tree mounted elsewhere, or a test's).
 * docs/container-stats.md has the sources.
 *
 * @param version 1 or 2
 * @param cpuDir v2: the cgroup directory; v1: the cpuacct controller's
 * @param memoryDir v2: the same directory; v1: the memory controller's
 * @param pidsDir v2: the same directory; v1: the pids controller's
 * @param recorded whether the location came from the state file (else from /proc)
 */
record HostCgroup(int version, Path cpuDir, Path memoryDir, Path pidsDir, boolean recorded) {
  static final String DEFAULT_MOUNTPOINT = "/sys/fs/cgroup";

  /** What one reading found; null fields could not be read. */
  record Reading(Long cpuNanos, Long memoryBytes, Long tasks, Map<String, Long> pressureMicros) {}

  /**
   * @param cgroupJson the sandbox record's {@code cgroup}, or null
   * @param cgroupRoot replaces the mountpoint, or null for the recorded one (/sys/fs/cgroup for v1 and /proc)
   * @param procRoot where /proc is (a test's directory, or /proc)
   * @return null when neither the record nor /proc names a cgroup
   */
  static HostCgroup locate(Object cgroupJson, long pid, Path cgroupRoot, Path procRoot) {
    Object v2 = JsonTree.get(cgroupJson, "cgroupv2");
    if (JsonTree.object(v2) != null) {
      return v2Dir(JsonTree.string(JsonTree.get(v2, "mountpoint")), JsonTree.string(JsonTree.get(v2, "path")),
          cgroupRoot, true);
    }
    Object systemd = JsonTree.get(cgroupJson, "cgroupsystemd");
    if (JsonTree.object(systemd) != null) {
      String path = JsonTree.string(JsonTree.get(systemd, "path"));
      String parent = JsonTree.string(JsonTree.get(systemd, "Parent"));
      String name = JsonTree.string(JsonTree.get(systemd, "Name"));
      String prefix = JsonTree.string(JsonTree.get(systemd, "ScopePrefix"));
      if (parent != null && !parent.isEmpty() && name != null && prefix != null) {
        // cgroupSystemd.MakePath: the expanded slice, then the scope unit "<prefix>-<name>.scope".
        path = expandSlice(parent) + "/" + prefix + "-" + name + ".scope";
      }
      return v2Dir(JsonTree.string(JsonTree.get(systemd, "mountpoint")), path, cgroupRoot, true);
    }
    Object v1 = JsonTree.get(cgroupJson, "cgroupv1");
    if (JsonTree.object(v1) != null) {
      String name = JsonTree.string(JsonTree.get(v1, "name"));
      Map<String, Object> parents = JsonTree.object(JsonTree.get(v1, "parents"));
      Path mount = cgroupRoot != null ? cgroupRoot : Path.of(DEFAULT_MOUNTPOINT);
      return new HostCgroup(1, v1Dir(mount, "cpuacct", name, parents), v1Dir(mount, "memory", name, parents),
          v1Dir(mount, "pids", name, parents), true);
    }
    return fromProc(pid, cgroupRoot, procRoot);
  }

  private static HostCgroup v2Dir(String mountpoint, String path, Path cgroupRoot, boolean recorded) {
    if (path == null) {
      return null;
    }
    Path mount = cgroupRoot != null ? cgroupRoot
        : Path.of(mountpoint == null || mountpoint.isEmpty() ? DEFAULT_MOUNTPOINT : mountpoint);
    Path dir = under(mount, path);
    return dir == null ? null : new HostCgroup(2, dir, dir, dir, recorded);
  }

  /** cgroupV1.MakePath: the controller's mount, then the parent's path when there is one, then the name. */
  private static Path v1Dir(Path mount, String controller, String name, Map<String, Object> parents) {
    String path = name == null ? "" : name;
    String parent = parents == null ? null : JsonTree.string(parents.get(controller));
    if (parent != null) {
      path = parent + "/" + path;
    }
    return under(mount.resolve(controller), path);
  }

  /**
   * runsc's NewFromPid: the lines of /proc/PID/cgroup. On a v2-only host ("0::/path") runsc takes the
   * parent of the process's cgroup (the process's own cgroup holds tasks); on v1, each controller's path.
   */
  private static HostCgroup fromProc(long pid, Path cgroupRoot, Path procRoot) {
    if (pid <= 0) {
      return null;
    }
    String text;
    try {
      text = Files.readString(procRoot.resolve(Long.toString(pid)).resolve("cgroup"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return null;
    }
    Path mount = cgroupRoot != null ? cgroupRoot : Path.of(DEFAULT_MOUNTPOINT);
    String cpu = null;
    String memory = null;
    String pids = null;
    for (String line : text.split("\n")) {
      String[] f = line.split(":", 3);
      if (f.length != 3) {
        continue;
      }
      if (f[1].isEmpty() && f[0].equals("0")) {
        String p = f[2];
        int slash = p.lastIndexOf('/');
        String parent = slash <= 0 ? "/" : p.substring(0, slash);
        Path dir = under(mount, parent);
        return dir == null ? null : new HostCgroup(2, dir, dir, dir, false);
      }
      for (String c : f[1].split(",")) {
        switch (c) {
          case "cpuacct" -> cpu = f[2];
          case "memory" -> memory = f[2];
          case "pids" -> pids = f[2];
          default -> { }
        }
      }
    }
    if (cpu == null) {
      return null;
    }
    return new HostCgroup(1, under(mount.resolve("cpuacct"), cpu),
        memory == null ? null : under(mount.resolve("memory"), memory),
        pids == null ? null : under(mount.resolve("pids"), pids), false);
  }

  /** {@code path} inside {@code mount}; null when ".." would leave it (a state file is not trusted). */
  private static Path under(Path mount, String path) {
    Path dir = mount.resolve(path.replaceFirst("^/+", "")).normalize();
    return dir.startsWith(mount.normalize()) ? dir : null;
  }

  /** systemd's slice expansion: "a-b-c.slice" is "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" is "/". */
  static String expandSlice(String slice) {
    String name = slice.endsWith(".slice") ? slice.substring(0, slice.length() - ".slice".length()) : slice;
    if (name.equals("-")) {
      return "";
    }
    StringBuilder path = new StringBuilder();
    StringBuilder prefix = new StringBuilder();
    for (String component : name.split("-", -1)) {
      path.append('/').append(prefix).append(component).append(".slice");
      prefix.append(component).append('-');
    }
    return path.toString();
  }

  /** Reads usage, memory, tasks and pressure; a file that cannot be read leaves its field null. */
  Reading read() {
    Long cpu;
    Long memory;
    if (version == 2) {
      Long usec = keyed(cpuDir.resolve("cpu.stat"), "usage_usec");
      cpu = usec == null ? null : usec * 1000;
      memory = single(memoryDir.resolve("memory.current"));
    } else {
      cpu = single(cpuDir.resolve("cpuacct.usage"));
      memory = memoryDir == null ? null : single(memoryDir.resolve("memory.usage_in_bytes"));
    }
    Long tasks = pidsDir == null ? null : single(pidsDir.resolve("pids.current"));
    Map<String, Long> pressure = new java.util.LinkedHashMap<>();
    if (version == 2) {
      for (String resource : new String[] {"cpu", "memory", "io"}) {
        String text = text(cpuDir.resolve(resource + ".pressure"));
        if (text == null) {
          continue;
        }
        for (String line : text.split("\n")) {
          String[] f = line.trim().split(" ");
          for (String kv : f) {
            if (kv.startsWith("total=") && (f[0].equals("some") || f[0].equals("full"))) {
              Long v = parse(kv.substring("total=".length()));
              if (v != null) {
                pressure.put(resource + "_" + f[0], v);
              }
            }
          }
        }
      }
    }
    return new Reading(cpu, memory, tasks, pressure);
  }

  private static Long keyed(Path file, String key) {
    String text = text(file);
    if (text == null) {
      return null;
    }
    for (String line : text.split("\n")) {
      String l = line.trim();
      if (l.startsWith(key + " ")) {
        return parse(l.substring(key.length() + 1).trim());
      }
    }
    return null;
  }

  private static Long single(Path file) {
    String text = text(file);
    return text == null ? null : parse(text.trim());
  }

  private static String text(Path file) {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** A non-negative decimal that fits a long, else null. */
  private static Long parse(String s) {
    if (s.isEmpty() || s.length() > 19) {
      return null;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return null;
      }
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
