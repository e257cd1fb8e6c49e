package dev.sandboxmetrics.simulator;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.snapshot.golang.GoJsonWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one simulated sandbox knows about its containers' resource use, and what the host kernel knows about
 * the sandbox: the answers to {@code containerManager.Event} (runsc's {@code boot.EventOut}, see
 * docs/container-stats.md) and, when the simulator has a cgroup root, the sandbox's host cgroup v2 files
 * ({@code cpu.stat}, {@code memory.current}, {@code memory.stat}, {@code pids.current}, the pressure files).
 * Made by {@link Simulator} for every sandbox; called on the sandbox's control socket event loop.
 *
 * <p>The numbers follow wall-clock time from the sandbox's creation, so they evolve between scrapes however
 * often they are read. Container {@code i} uses {@code rate[i]} cores all the time, so the sandbox's
 * per-container split stays proportional, and the host cgroup measures {@link #HOST_CPU_FACTOR} times what
 * the sentry accounts to its containers (the sentry's own work): runsc's formula then gives each container
 * exactly {@code HOST_CPU_FACTOR * rate[i]} cores. Memory moves along slow sine waves; the host cgroup holds
 * the containers' memory plus {@link #SENTRY_MEMORY_BYTES}.
 */
public final class PodStats {
  /** Host CPU of the sandbox per CPU second the sentry accounts to its containers. */
  public static final double HOST_CPU_FACTOR = 1.08;
  /** Host memory of the sandbox beyond its containers' (the sentry and its page tables). */
  public static final long SENTRY_MEMORY_BYTES = 48L << 20;
  /** Host tasks of the sandbox beyond its containers' (the sentry's threads). */
  public static final long SENTRY_TASKS = 12;
  /** The memory the absurd-memory fault reports: 2^63 bytes, as an unsigned Go uint64. */
  static final String ABSURD_MEMORY = "9223372036854775808";
  /** The cgroup files are rewritten at most this often: the server reads them once per scrape. */
  private static final long REWRITE_NANOS = 100_000_000L;

  private final String sandboxId;
  private final List<String> containerIds;
  private final double[] rate;
  private final long[] memoryBase;
  private final long[] memoryAmplitude;
  private final long[] tasks;
  private final long startNanos = System.nanoTime();
  private final Path cgroupDir;
  private final Map<String, Integer> decreases = new HashMap<>();
  private long lastWrite = Long.MIN_VALUE;
  private final java.util.concurrent.atomic.AtomicLong eventCalls = new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param containerIds the root (pause) container first
   * @param cgroupDir the sandbox's host cgroup directory to keep up to date, or null for none
   */
  PodStats(String sandboxId, List<String> containerIds, Path cgroupDir) {
    this.sandboxId = sandboxId;
    this.containerIds = List.copyOf(containerIds);
    this.cgroupDir = cgroupDir;
    int n = containerIds.size();
    rate = new double[n];
    memoryBase = new long[n];
    memoryAmplitude = new long[n];
    tasks = new long[n];
    int seed = Math.abs(sandboxId.hashCode() % 97);
    for (int i = 0; i < n; i++) {
      if (i == 0) {
        rate[i] = 0.002; // The pause container: idle, but it has a process.
        memoryBase[i] = 1L << 20;
        memoryAmplitude[i] = 64L << 10;
        tasks[i] = 1;
      } else {
        rate[i] = 0.05 + 0.1 * i + (seed % 10) / 100.0;
        // The first application container is the big one (podContainers gives it 256 MiB, sidecars 64 MiB).
        memoryBase[i] = i == 1 ? (48L + seed % 32) << 20 : (12L + seed % 8 + i) << 20;
        memoryAmplitude[i] = i == 1 ? 16L << 20 : 6L << 20;
        tasks[i] = 2 + i + seed % 3;
      }
    }
  }

  /** How many containerManager.Event calls this sandbox answered with stats or an unknown-container error. */
  public long eventCalls() {
    return eventCalls.get();
  }

  /** The container IDs, the pause container first. */
  public List<String> containerIds() {
    return containerIds;
  }

  /** The cores runsc's formula gives container {@code i}: what its rows' rate must be. */
  public double expectedCores(String containerId) {
    int i = containerIds.indexOf(containerId);
    if (i < 0) {
      throw new IllegalArgumentException("no container " + containerId + " in sandbox " + sandboxId);
    }
    return HOST_CPU_FACTOR * rate[i];
  }

  /**
   * What {@link #expectedApplicationCores()} is for a sandbox with this ID and this many containers (pause
   * container included): for tests that see the simulator from another process.
   */
  public static double expectedApplicationCores(String sandboxId, int containers) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < containers; i++) {
      ids.add(sandboxId + "-" + i);
    }
    return new PodStats(sandboxId, ids, null).expectedApplicationCores();
  }

  /** The sum of {@link #expectedCores} over the application containers (all but the pause container). */
  public double expectedApplicationCores() {
    double sum = 0;
    for (int i = 1; i < rate.length; i++) {
      sum += HOST_CPU_FACTOR * rate[i];
    }
    return sum;
  }

  /** The values at one moment. */
  record Sample(long[] cpuNanos, long[] memory, long[] tasks, long hostUsageUsec, long hostMemory,
      long hostTasks, double seconds) {}

  Sample sample() {
    double t = (System.nanoTime() - startNanos) / 1e9 + 1; // One second in: no all-zero first sample.
    int n = rate.length;
    long[] cpu = new long[n];
    long[] mem = new long[n];
    double cpuSum = 0;
    long memSum = 0;
    long taskSum = 0;
    for (int i = 0; i < n; i++) {
      cpu[i] = (long) (rate[i] * t * 1e9);
      cpuSum += cpu[i];
      mem[i] = memoryBase[i] + (long) (memoryAmplitude[i] * (1 + Math.sin(t / 13 + i)) / 2);
      memSum += mem[i];
      taskSum += tasks[i];
    }
    long hostUsec = (long) (cpuSum * HOST_CPU_FACTOR / 1000);
    return new Sample(cpu, mem, tasks.clone(), hostUsec, memSum + SENTRY_MEMORY_BYTES, taskSum + SENTRY_TASKS, t);
  }

  /** The uRPC reply to {@code containerManager.Event} for {@code cid}, as runsc's sandbox sends it. */
  synchronized byte[] eventReply(String cid, Fault fault) {
    eventCalls.incrementAndGet();
    Sample s = sample();
    writeCgroup(s, false);
    String id = cid;
    int index = containerIds.indexOf(cid);
    if (fault == Fault.EVENT_UNKNOWN_CONTAINER) {
      id = sandboxId + "-ghost";
    } else if (index < 0) {
      // runsc's Loader.pidsCount fails first, with findProcessLocked's message.
      return SandboxEndpoint.errorReply("container \"" + cid + "\" not found");
    }
    int i = Math.max(index, 0);
    ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
    try (JsonGenerator g = GoJsonWriter.generator(out)) {
      g.writeStartObject();
      g.writeBooleanField("success", true);
      g.writeStringField("err", "");
      g.writeObjectFieldStart("result");
      g.writeObjectFieldStart("event");
      g.writeStringField("type", "stats");
      g.writeStringField("id", id);
      g.writeObjectFieldStart("data");
      // The sandbox never fills CPU totals: runsc's populateStats does, outside the sandbox.
      g.writeObjectFieldStart("cpu");
      g.writeObjectFieldStart("usage");
      g.writeEndObject();
      g.writeEndObject();
      g.writeObjectFieldStart("memory");
      // "cache" (omitempty) is 0 and left out; struct fields are never omitted by encoding/json.
      g.writeObjectFieldStart("usage");
      g.writeNumberField("limit", 0);
      if (fault == Fault.EVENT_ABSURD_MEMORY) {
        g.writeFieldName("usage");
        g.writeRawValue(ABSURD_MEMORY);
      } else if (s.memory()[i] != 0) {
        g.writeNumberField("usage", s.memory()[i]);
      }
      g.writeNumberField("failcnt", 0);
      g.writeEndObject();
      for (String entry : List.of("swap", "kernel", "kernelTCP")) {
        g.writeObjectFieldStart(entry);
        g.writeNumberField("limit", 0);
        g.writeNumberField("failcnt", 0);
        g.writeEndObject();
      }
      g.writeEndObject();
      g.writeObjectFieldStart("pids");
      if (s.tasks()[i] != 0) {
        g.writeNumberField("current", s.tasks()[i]);
      }
      g.writeEndObject();
      writeInterfaces(g, s.seconds());
      g.writeEndObject(); // data
      g.writeEndObject(); // event
      g.writeObjectFieldStart("containerUsage");
      Map<String, Long> usage = new TreeMap<>(); // Go sorts map keys.
      for (int k = 0; k < containerIds.size(); k++) {
        usage.put(containerIds.get(k), s.cpuNanos()[k]);
      }
      if (fault == Fault.EVENT_UNKNOWN_CONTAINER) {
        usage.put(id, s.cpuNanos()[i] * 10);
      } else if (fault == Fault.EVENT_CPU_DECREASE) {
        int n = decreases.merge(cid, 1, Integer::sum);
        usage.put(cid, s.cpuNanos()[i] >> Math.min(n, 40));
      }
      for (Map.Entry<String, Long> e : usage.entrySet()) {
        g.writeNumberField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      g.writeEndObject(); // result
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("encoding in memory", e);
    }
    return out.toByteArray();
  }

  /** runsc's NetworkInterface has no json tags: Go writes its field names as they are. */
  private void writeInterfaces(JsonGenerator g, double t) throws IOException {
    g.writeArrayFieldStart("network_interfaces");
    String[] names = {"lo", "eth0"};
    for (int k = 0; k < names.length; k++) {
      double scale = k == 0 ? 2_000 : 150_000 + 1_000 * (Math.abs(sandboxId.hashCode()) % 50);
      long rxBytes = (long) (scale * t);
      long txBytes = k == 0 ? rxBytes : (long) (scale * 0.4 * t);
      g.writeStartObject();
      g.writeStringField("Name", names[k]);
      g.writeNumberField("RxBytes", rxBytes);
      g.writeNumberField("RxPackets", rxBytes / 900);
      g.writeNumberField("RxErrors", 0);
      g.writeNumberField("RxDropped", k == 0 ? 0 : (long) t / 60);
      g.writeNumberField("TxBytes", txBytes);
      g.writeNumberField("TxPackets", txBytes / 700);
      g.writeNumberField("TxErrors", 0);
      g.writeNumberField("TxDropped", 0);
      g.writeEndObject();
    }
    g.writeEndArray();
  }

  /**
   * Writes the host cgroup files (each replaced by a rename, so that a reader never sees half a file), at
   * most every 100 ms unless {@code force}.
   */
  synchronized void writeCgroup(Sample s, boolean force) {
    if (cgroupDir == null) {
      return;
    }
    long now = System.nanoTime();
    if (!force && lastWrite != Long.MIN_VALUE && now - lastWrite < REWRITE_NANOS) {
      return;
    }
    lastWrite = now;
    long usage = s.hostUsageUsec();
    long user = usage * 7 / 10;
    long pressureUsec = usage / 50;
    Map<String, String> files = new TreeMap<>();
    files.put("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    files.put("cpu.stat", "usage_usec " + usage + "\nuser_usec " + user + "\nsystem_usec " + (usage - user)
        + "\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n");
    files.put("memory.current", s.hostMemory() + "\n");
    long file = s.hostMemory() / 4;
    files.put("memory.stat", "anon " + (s.hostMemory() - file) + "\nfile " + file + "\nkernel 0\n"
        + "active_file " + file / 2 + "\ninactive_file " + (file - file / 2) + "\n");
    files.put("memory.max", "max\n");
    files.put("pids.current", s.hostTasks() + "\n");
    files.put("cpu.pressure", pressure(pressureUsec, pressureUsec / 3));
    files.put("memory.pressure", pressure(pressureUsec / 10, pressureUsec / 20));
    files.put("io.pressure", pressure(pressureUsec / 5, pressureUsec / 8));
    try {
      Files.createDirectories(cgroupDir);
      for (Map.Entry<String, String> e : files.entrySet()) {
        Path target = cgroupDir.resolve(e.getKey());
        Path tmp = cgroupDir.resolve("." + e.getKey() + ".tmp");
        Files.write(tmp, e.getValue().getBytes(StandardCharsets.US_ASCII));
        try {
          Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException x) {
          Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the cgroup files of sandbox " + sandboxId + " in " + cgroupDir, e);
    }
  }

  /** Removes the files {@link #writeCgroup} made and the directories up to (not including) {@code stop}. */
  synchronized void removeCgroup(Path stop) {
    if (cgroupDir == null) {
      return;
    }
    try {
      if (Files.isDirectory(cgroupDir)) {
        List<Path> inside = new ArrayList<>();
        try (var s = Files.list(cgroupDir)) {
          s.forEach(inside::add);
        }
        for (Path p : inside) {
          Files.deleteIfExists(p);
        }
      }
      for (Path d = cgroupDir; d != null && !d.equals(stop) && d.startsWith(stop); d = d.getParent()) {
        try {
          Files.deleteIfExists(d);
        } catch (java.nio.file.DirectoryNotEmptyException e) {
          break; // Another sandbox of the same parent (or someone else's files).
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove the cgroup files of sandbox " + sandboxId, e);
    }
    lastWrite = Long.MIN_VALUE;
  }

  private static String pressure(long someUsec, long fullUsec) {
    return "some avg10=0.00 avg60=0.00 avg300=0.00 total=" + someUsec
        + "\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=" + fullUsec + "\n";
  }
}
