package dev.sandboxmetrics.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.metricserver.collect.EventDrivenControlClient;
import dev.sandboxmetrics.metricserver.containerstats.ContainerStatsCollector.ContainerStats;
import dev.sandboxmetrics.metricserver.containerstats.ContainerStatsCollector.SandboxStats;
import dev.sandboxmetrics.metricserver.containerstats.ContainerStatsCollector;
import dev.sandboxmetrics.metricserver.containerstats.EventReply;
import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.runsc.discovery.DiscoveryException;
import dev.sandboxmetrics.runsc.discovery.LoadResult;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.runsc.discovery.SandboxInfo;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code sandbox-metrics stats [--no-stream] [--format json] [CONTAINER_ID...]}: a live view of the
 * containers of every running gVisor sandbox in the root directory, like {@code docker stats} and
 * {@code kubectl top}: CPU from runsc's formula over the host cgroup (the same numbers as
 * {@code metric-server --container-stats}), memory against the container's limit, tasks, and the sandbox's
 * network I/O. Refreshes every second until interrupted; {@code --no-stream} prints one table.
 */
@Command(
    name = "stats",
    description = {
      "Show the CPU, memory, tasks and network I/O of the containers of running gVisor sandboxes, like "
          + "'docker stats'. CONTAINER_ID (an ID or a unique prefix) limits the view to those containers.",
    },
    exitCodeList = {"0:done (or interrupted)", "1:runtime failure (message on stderr)", "2:usage error"})
final class StatsCommand implements Callable<Integer> {
  private static final Duration INTERVAL = Duration.ofSeconds(1);
  private static final Duration TIMEOUT = Duration.ofSeconds(8);

  @ParentCommand Main global;

  @Option(names = "--no-stream", description = "Print one table and exit (CPU measured over one second).")
  boolean noStream;

  @Option(names = "--format", paramLabel = "FORMAT",
      description = "table (default), or json: one JSON object per container and sample, one per line.")
  String format = "table";

  @Option(names = "--cgroup-root", paramLabel = "DIR",
      description = "Where the host's cgroup file system is, replacing the mountpoint the state files record.")
  Path cgroupRoot;

  @Parameters(paramLabel = "CONTAINER_ID", arity = "0..*", description = "Containers to show (default: all).")
  List<String> containers = new ArrayList<>();

  /** The last sample's CPU per container, for CPU %. */
  private final Map<String, double[]> lastCpu = new HashMap<>();

  @Override
  public Integer call() throws Exception {
    boolean json = switch (format.toLowerCase(Locale.ROOT)) {
      case "json" -> true;
      case "table" -> false;
      default -> throw CommandFailure.usage("--format " + format + ": choose table or json", null);
    };
    PrintStream out = global.out();
    RootDirectory root = new RootDirectory(Path.of(global.root()));
    Transport transport = Transport.detect();
    EventLoopGroup group = transport.newEventLoopGroup(1, "stats-io");
    ExecutorService work = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "stats-worker");
      t.setDaemon(true);
      return t;
    });
    try {
      ContainerStatsCollector collector =
          new ContainerStatsCollector(new EventDrivenControlClient(transport, group, 16 << 20), work, TIMEOUT,
              TIMEOUT, root, cgroupRoot, "runsc_");
      boolean terminal = System.console() != null && !json;
      // The first sample only starts the CPU clocks; with --no-stream the table comes after one interval.
      rows(sample(collector, root));
      int attempts = 0;
      while (true) {
        Thread.sleep(INTERVAL.toMillis());
        List<Row> rows = rows(sample(collector, root));
        attempts++;
        if (noStream && attempts < 3 && rows.stream().anyMatch(r -> r.cpuPercent() == null)) {
          continue; // A container missed the previous sample (busy sandbox): one more interval for its CPU %.
        }
        if (json) {
          printJson(out, rows);
        } else {
          if (terminal && !noStream) {
            out.print("\033[2J\033[H"); // Clear the screen, as docker stats does.
          }
          printTable(out, rows);
        }
        out.flush();
        if (noStream || out.checkError()) {
          return 0;
        }
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      work.shutdownNow();
    }
  }

  private record Sample(List<SandboxStats> stats, long nanos) {}

  private Sample sample(ContainerStatsCollector collector, RootDirectory root) throws Exception {
    List<ServedSandbox> sandboxes = runningSandboxes(root);
    try {
      List<SandboxStats> stats = collector.collectStats(sandboxes).get(TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
      return new Sample(stats, System.nanoTime());
    } catch (ExecutionException | TimeoutException e) {
      throw new CommandFailure("cannot collect container stats: " + e.getMessage(), e);
    }
  }

  /** Every sandbox of the root directory whose process runs, whatever metric server it asked for. */
  private List<ServedSandbox> runningSandboxes(RootDirectory root) {
    List<ServedSandbox> out = new ArrayList<>();
    List<String> ids;
    try {
      ids = root.listSandboxIds();
    } catch (IOException e) {
      throw new CommandFailure("cannot list root directory " + root + ": " + e.getMessage(), e);
    }
    for (String id : ids) {
      try {
        if (root.loadSandbox(id) instanceof LoadResult.Loaded<SandboxInfo> loaded && loaded.value().isRunning()) {
          SandboxInfo i = loaded.value();
          out.add(ServedSandbox.of(new ServedSandbox.Facts(i.sandboxId(), i.createdAt(), i.iteration(), i.labels(),
              i.controlSocketPath(), i.pid(), i.checkpointed(), i.restored(), i.cpuTimeSaved(), i.wallTimeSaved(),
              Map.of(), List.of(), Map.of()), null, null));
        }
      } catch (DiscoveryException e) {
        // A broken sandbox has no stats to show; the others still do.
      }
    }
    return out;
  }

  /** One line of the view. */
  record Row(String id, String container, String pod, String namespace, Double cpuPercent, long memory,
      long memoryLimit, long pids, long rxBytes, long txBytes) {}

  private List<Row> rows(Sample sample) {
    List<Row> rows = new ArrayList<>();
    for (SandboxStats s : sample.stats()) {
      long rx = 0;
      long tx = 0;
      for (EventReply.NetworkInterface i : s.network()) {
        if (!i.name().equals("lo")) {
          rx += i.rxBytes();
          tx += i.txBytes();
        }
      }
      for (ContainerStats c : s.containers()) {
        String id = c.facts().id();
        if (!containers.isEmpty() && containers.stream().noneMatch(id::startsWith)) {
          continue;
        }
        double cpuSeconds = c.cpuNanos() / 1e9;
        double[] last = lastCpu.put(id, new double[] {cpuSeconds, sample.nanos()});
        Double percent = last == null ? null
            : Math.max(0, (cpuSeconds - last[0]) / ((sample.nanos() - last[1]) / 1e9) * 100);
        Long limit = c.facts().memoryLimit();
        long memoryLimit = limit != null && limit > 0 && limit < (1L << 62) ? limit
            : s.hostMemory() != null ? s.hostMemory() : 0;
        String name = c.facts().containerName() != null ? c.facts().containerName() : shortId(id);
        rows.add(new Row(id, name, c.facts().podName(), c.facts().namespace(), percent, c.memoryBytes(),
            memoryLimit, c.tasks(), rx, tx));
      }
    }
    rows.sort((a, b) -> (a.namespace() + "/" + a.pod() + "/" + a.container())
        .compareTo(b.namespace() + "/" + b.pod() + "/" + b.container()));
    return rows;
  }

  private static String shortId(String id) {
    return id.length() > 12 ? id.substring(0, 12) : id;
  }

  private static void printTable(PrintStream out, List<Row> rows) {
    String format = "%-20s %-24s %-16s %8s %-22s %7s %6s %s%n";
    out.printf(format, "CONTAINER", "POD", "NAMESPACE", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS", "NET I/O");
    for (Row r : rows) {
      out.printf(format, r.container(), r.pod(), r.namespace(),
          r.cpuPercent() == null ? "--" : String.format(Locale.ROOT, "%.2f%%", r.cpuPercent()),
          bytes(r.memory(), true) + " / " + (r.memoryLimit() > 0 ? bytes(r.memoryLimit(), true) : "-"),
          r.memoryLimit() > 0 ? String.format(Locale.ROOT, "%.2f%%", 100.0 * r.memory() / r.memoryLimit()) : "--",
          r.pids(), bytes(r.rxBytes(), false) + " / " + bytes(r.txBytes(), false));
    }
  }

  private static void printJson(PrintStream out, List<Row> rows) throws IOException {
    for (Row r : rows) {
      StringWriter w = new StringWriter();
      try (JsonGenerator g = new JsonFactory().createGenerator(w)) {
        g.writeStartObject();
        g.writeStringField("id", r.id());
        g.writeStringField("container", r.container());
        g.writeStringField("pod", r.pod());
        g.writeStringField("namespace", r.namespace());
        if (r.cpuPercent() == null) {
          g.writeNullField("cpu_percent");
        } else {
          g.writeNumberField("cpu_percent", Math.round(r.cpuPercent() * 100) / 100.0);
        }
        g.writeNumberField("memory_usage_bytes", r.memory());
        g.writeNumberField("memory_limit_bytes", r.memoryLimit());
        g.writeNumberField("pids", r.pids());
        g.writeNumberField("net_rx_bytes", r.rxBytes());
        g.writeNumberField("net_tx_bytes", r.txBytes());
        g.writeEndObject();
      }
      out.println(w);
    }
  }

  /** docker's units: binary (KiB, MiB, GiB) for memory, decimal (kB, MB, GB) for network. */
  static String bytes(long v, boolean binary) {
    double base = binary ? 1024 : 1000;
    String[] units = binary ? new String[] {"B", "KiB", "MiB", "GiB", "TiB"} : new String[] {"B", "kB", "MB", "GB", "TB"};
    double x = v < 0 ? v + 0x1p64 : v;
    int u = 0;
    while (x >= base && u < units.length - 1) {
      x /= base;
      u++;
    }
    return u == 0 ? String.format(Locale.ROOT, "%.0f%s", x, units[u]) : String.format(Locale.ROOT, "%.2f%s", x, units[u]);
  }
}
