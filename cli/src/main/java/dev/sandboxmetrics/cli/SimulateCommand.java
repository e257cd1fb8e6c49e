package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.posix.Signals;
import dev.sandboxmetrics.simulator.Churn;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.Profile;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code sandbox-metrics simulate}: simulated runsc sandboxes in a root directory, for trying the metric
 * server without gVisor, demos and load tests. Creates the sandboxes (state files, live processes, control
 * sockets answering like runsc's), prints what it made, runs until SIGINT or SIGTERM, then removes every
 * file it created and exits 0. Exit 1 when the sandboxes cannot be made, 2 for bad flags.
 */
@Command(
    name = "simulate",
    description = {
      "Run simulated gVisor sandboxes in the root directory until SIGINT or SIGTERM, then remove every file made.",
      "Each has a state file, a live process and a control socket answering like runsc's; point a metric server "
          + "with the same --root and --metric-server at them.",
      "Example: sandbox-metrics --root /tmp/sim --metric-server localhost:1337 simulate --sandboxes 5 "
          + "--fault stall=1",
    })
final class SimulateCommand implements Callable<Integer> {
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)?");

  @ParentCommand Main global;

  @Spec CommandSpec spec;

  @Option(names = "--root", paramLabel = "DIR",
      description = "Root directory (instead of the global --root before the subcommand).")
  String root;

  @Option(names = "--metric-server", paramLabel = "ADDRESS",
      description = "The metric server address the sandboxes are created for (instead of the global "
          + "--metric-server); empty: sandboxes not asked for metrics.")
  String metricServer;

  @Option(names = "--sandboxes", paramLabel = "N", description = "How many sandboxes (default: ${DEFAULT-VALUE}).")
  int sandboxes = 3;

  @Option(names = "--profile", paramLabel = "PROFILE",
      description = "realistic (gVisor's metric names, values that move) or bench (the 175-point benchmark "
          + "workload) (default: ${DEFAULT-VALUE}).")
  String profile = "realistic";

  @Option(names = "--fault", paramLabel = "MODE[=COUNT]",
      description = "Make COUNT (default 1) of the sandboxes misbehave; repeatable. Modes: "
          + "stall, slow, close, garbage, truncated, oversized, close-after-reply, stray-byte, idle-byte, error, "
          + "unknown-metric, bad-field-value, "
          + "counter-decrease, bad-buckets, future, too-old, ignore-filter; for containerManager.Event only: "
          + "event-error, event-stall, event-garbage, event-cpu-decrease, event-unknown-container, "
          + "event-absurd-memory.")
  List<String> faults = new ArrayList<>();

  @Option(names = "--id-prefix", paramLabel = "P", description = "Sandbox IDs are P000, P001... (default: ${DEFAULT-VALUE}).")
  String idPrefix = "sim-";

  @Option(names = "--namespace", paramLabel = "NS",
      description = "Kubernetes namespace of the simulated pods (each pod is named after its sandbox); "
          + "empty for sandboxes outside Kubernetes (default: ${DEFAULT-VALUE}).")
  String namespace = "simulated";

  @Option(names = "--sub-containers", paramLabel = "K", description = "Sub-containers per sandbox (default: ${DEFAULT-VALUE}).")
  int subContainers;

  @Option(names = "--cgroup-root", paramLabel = "DIR",
      description = "Keep a host cgroup v2 tree for every sandbox under DIR (it stands for /sys/fs/cgroup: "
          + "give the metric server the same --cgroup-root). Default: no cgroup files.")
  Path cgroupRoot;

  @Option(names = "--slow-delay", paramLabel = "DURATION",
      description = "How long 'slow' sandboxes wait before answering, e.g. 500ms, 5s (default: ${DEFAULT-VALUE}).")
  String slowDelay = "2s";

  @Option(names = "--oversized-bytes", paramLabel = "BYTES",
      description = "How large 'oversized' replies are (default: ${DEFAULT-VALUE}, 128 MiB).")
  long oversizedBytes = 128L << 20;

  @Option(names = "--churn", paramLabel = "N",
      description = "Every second, destroy the N oldest sandboxes and create N new ones with new IDs (same "
          + "profile and faults), keeping the count: a metric server sees sandboxes come and go. "
          + "Default: ${DEFAULT-VALUE}, none.")
  int churn;

  @Option(names = "--churn-log", paramLabel = "FILE",
      description = "With --churn: append one line per sandbox created or destroyed, "
          + "'<epoch ms> create|destroy <id>' (create: once it runs; destroy: before it goes), so a soak can "
          + "check that every scrape showed every sandbox that lived through it.")
  Path churnLog;

  private Profile parsedProfile;
  private Duration parsedSlowDelay;
  private int width;
  private int nextIndex;

  @Override
  public Integer call() {
    PrintStream out = global.out();
    Path rootDir = Path.of(root != null ? root : global.root());
    String address = metricServer != null ? metricServer : global.metricServer();
    List<SandboxSpec> specs = specs();

    Simulator sim;
    try {
      sim = Simulator.start(rootDir, address, cgroupRoot);
    } catch (IOException | RuntimeException e) {
      throw new CommandFailure("cannot use root directory " + rootDir + ": " + e.getMessage(), e);
    }
    CountDownLatch stop = new CountDownLatch(1);
    Thread cleanup = new Thread(sim::close, "simulate-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      createAll(sim, specs);
    } catch (IOException | RuntimeException e) {
      sim.close();
      throw new CommandFailure("cannot create the sandboxes: " + e.getMessage(), e);
    }
    installSignals(stop);
    describe(out, sim, address);
    ChurnLoop churning = churn > 0 ? startChurn(sim) : null;

    try {
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (churning != null) {
      churning.stop(out);
    }
    out.println("Stopping: removing the simulated sandboxes and their files.");
    sim.close();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException alreadyShuttingDown) {
      // The JVM is exiting anyway; the hook finds everything closed.
    }
    return Main.EXIT_OK;
  }

  /** The running churn: its thread and its counts. */
  private final class ChurnLoop {
    final ScheduledExecutorService timer;
    final Churn churn;

    ChurnLoop(ScheduledExecutorService timer, Churn churn) {
      this.timer = timer;
      this.churn = churn;
    }

    /** Stops churning (a step under way finishes first) and says how much happened. */
    void stop(PrintStream out) {
      timer.shutdown();
      try {
        timer.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      out.printf("Churn: created %d, destroyed %d sandboxes%n", churn.created(), churn.destroyed());
      try {
        churn.close();
      } catch (IOException e) {
        global.err().println("sandbox-metrics: cannot close the churn log: " + e.getMessage());
      }
    }
  }

  private ChurnLoop startChurn(Simulator sim) {
    Churn c;
    try {
      c = new Churn(sim, churn, old -> spec(nextIndex++, old.fault()), churnLog);
      c.logExisting();
    } catch (IOException | RuntimeException e) {
      sim.close();
      throw new CommandFailure("cannot write the churn log " + churnLog + ": " + e.getMessage(), e);
    }
    PrintStream err = global.err();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "simulate-churn");
      t.setDaemon(true);
      return t;
    });
    // At a fixed rate: a slow step (a busy machine) is followed by the next at once, so N a second on average.
    timer.scheduleAtFixedRate(() -> {
      try {
        c.step();
      } catch (IOException | RuntimeException e) {
        // Churning stops (an exception ends a periodic task); the sandboxes that exist stay and are served.
        err.println("sandbox-metrics: churn stopped: " + e.getMessage());
        throw new IllegalStateException(e);
      }
    }, 1, 1, TimeUnit.SECONDS);
    return new ChurnLoop(timer, c);
  }

  /**
   * Creates the sandboxes a few at a time: each creation mostly waits for the kernel (a process to start,
   * files to be written), so a thousand take seconds instead of tens of seconds.
   */
  private static void createAll(Simulator sim, List<SandboxSpec> specs) throws IOException {
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(4, specs.size()));
    try {
      List<Future<SimulatedSandbox>> made = new ArrayList<>();
      for (SandboxSpec s : specs) {
        made.add(pool.submit(() -> sim.createRunning(s)));
      }
      for (Future<SimulatedSandbox> f : made) {
        try {
          f.get();
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof IOException) {
            throw (IOException) cause;
          }
          throw new IllegalStateException(cause.getMessage(), cause);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while creating sandboxes", e);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private List<SandboxSpec> specs() {
    if (sandboxes < 1) {
      throw usage("--sandboxes must be at least 1, got " + sandboxes);
    }
    if (subContainers < 0) {
      throw usage("--sub-containers must not be negative, got " + subContainers);
    }
    if (churn < 0) {
      throw usage("--churn must not be negative, got " + churn);
    }
    if (churn > sandboxes) {
      throw usage("--churn " + churn + " is more than --sandboxes " + sandboxes);
    }
    if (churnLog != null && churn == 0) {
      throw usage("--churn-log needs --churn");
    }
    try {
      parsedProfile = Profile.parse(profile);
    } catch (IllegalArgumentException e) {
      throw usage("--profile: " + e.getMessage());
    }
    parsedSlowDelay = duration("--slow-delay", slowDelay);
    if (oversizedBytes < 1024) {
      throw usage("--oversized-bytes must be at least 1024, got " + oversizedBytes);
    }
    Map<Fault, Integer> counts = faultCounts();
    int faulty = counts.values().stream().mapToInt(Integer::intValue).sum();
    if (faulty > sandboxes) {
      throw usage("--fault asks for " + faulty + " faulty sandboxes but --sandboxes is " + sandboxes);
    }
    // The first sandboxes are healthy, the faulty ones come last, in the order the faults were given.
    List<Fault> assigned = new ArrayList<>();
    for (int i = 0; i < sandboxes - faulty; i++) {
      assigned.add(Fault.NONE);
    }
    counts.forEach((f, n) -> {
      for (int i = 0; i < n; i++) {
        assigned.add(f);
      }
    });
    width = Math.max(3, Integer.toString(sandboxes - 1).length());
    List<SandboxSpec> out = new ArrayList<>();
    for (int i = 0; i < sandboxes; i++) {
      out.add(spec(i, assigned.get(i)));
    }
    nextIndex = sandboxes;
    return out;
  }

  /** Sandbox number {@code i} of this run (ID prefix plus the number), with the given fault. */
  private SandboxSpec spec(int i, Fault fault) {
    String id = idPrefix + String.format("%0" + width + "d", i);
    SandboxSpec.Builder b;
    try {
      b = SandboxSpec.builder(id);
    } catch (IllegalArgumentException e) {
      throw usage("--id-prefix: " + e.getMessage());
    }
    if (!namespace.isEmpty()) {
      // A pod: named application containers with images and resources beside the pause container.
      b.podName(id).namespace(namespace).podContainers(subContainers);
    } else {
      b.subContainers(subContainers);
    }
    return b.profile(parsedProfile)
        .fault(fault)
        .slowDelay(parsedSlowDelay)
        .oversizedBytes(oversizedBytes)
        .build();
  }

  private Map<Fault, Integer> faultCounts() {
    Map<Fault, Integer> counts = new LinkedHashMap<>();
    for (String f : faults) {
      int eq = f.indexOf('=');
      String mode = eq < 0 ? f : f.substring(0, eq);
      int n = 1;
      if (eq >= 0) {
        try {
          n = Integer.parseInt(f.substring(eq + 1).trim());
        } catch (NumberFormatException e) {
          throw usage("--fault " + f + ": COUNT must be a number");
        }
        if (n < 0) {
          throw usage("--fault " + f + ": COUNT must not be negative");
        }
      }
      Fault fault;
      try {
        fault = Fault.parse(mode);
      } catch (IllegalArgumentException e) {
        throw usage("--fault: " + e.getMessage());
      }
      if (fault == Fault.NONE) {
        throw usage("--fault none: sandboxes without a fault are the default");
      }
      counts.merge(fault, n, Integer::sum);
    }
    return counts;
  }

  private void describe(PrintStream out, Simulator sim, String address) {
    out.printf("Simulating %d %s sandbox%s in %s for metric server %s%n",
        sim.sandboxes().size(), profile, sim.sandboxes().size() == 1 ? "" : "es", sim.root(),
        address.isEmpty() ? "(none: sandboxes not asked for metrics)" : "\"" + address + "\"");
    out.printf("%-16s %-8s %-17s %s%n", "SANDBOX", "PID", "FAULT", "CONTROL SOCKET");
    List<SimulatedSandbox> all = new ArrayList<>(sim.sandboxes());
    all.sort(Comparator.comparing(SimulatedSandbox::id));
    for (SimulatedSandbox sb : all) {
      out.printf("%-16s %-8d %-17s %s%n", sb.id(), sb.pid(), sb.fault(), sb.controlSocket());
    }
    if (address.isEmpty()) {
      // A metric server serves only sandboxes created for its address, so none of these: say so, and how.
      String first = all.isEmpty() ? "ID" : all.get(0).id();
      out.printf("Try: sandbox-metrics --root %s export-metrics %s%n", sim.root(), first);
      out.println("No metric server serves these sandboxes: they were made without --metric-server. For one "
          + "that does, run simulate with --metric-server ADDRESS (e.g. localhost:1337) and the server with the "
          + "same --root and --metric-server.");
    } else {
      out.printf("Try: sandbox-metrics --root %s --metric-server %s metric-server%n", sim.root(), address);
    }
    out.println("Running until SIGINT (Ctrl-C) or SIGTERM; then every file made here is removed.");
    out.flush();
  }

  private static void installSignals(CountDownLatch stop) {
    for (String name : new String[] {"INT", "TERM"}) {
      Signals.handle(name, signal -> stop.countDown());
    }
  }

  private Duration duration(String flag, String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      throw usage(flag + " " + text + ": expected a duration like 500ms, 2s or 1m");
    }
    double v = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    double millis;
    switch (unit) {
      case "ms":
        millis = v;
        break;
      case "m":
        millis = v * 60_000;
        break;
      case "h":
        millis = v * 3_600_000;
        break;
      default:
        millis = v * 1000;
    }
    return Duration.ofMillis(Math.round(millis));
  }

  private CommandLine.ParameterException usage(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }
}
