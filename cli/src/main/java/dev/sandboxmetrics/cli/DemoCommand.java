package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.server.ShutdownSignals;
import dev.sandboxmetrics.metricserver.server.StartupException;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code sandbox-metrics demo}: the quickest way to see the metric server work. Starts simulated runsc
 * sandboxes in a temporary root directory and a metric server for them (on {@code 127.0.0.1:9090} and on a
 * Unix socket in the root directory), prints {@code curl} commands to try, and removes everything on Ctrl-C.
 */
@Command(
    name = "demo",
    description = {
      "Start simulated sandboxes in a temporary root directory and a metric server for them, print curl "
          + "commands to try, and clean everything up on Ctrl-C.",
    })
final class DemoCommand implements Callable<Integer> {
  static final String DEFAULT_ADDRESS = "127.0.0.1:9090";
  private static final String UNIX_SOCKET_NAME = "metric-server.sock";

  @ParentCommand Main global;

  @Option(names = "--sandboxes", paramLabel = "N", defaultValue = "3",
      description = "Number of healthy simulated sandboxes (default: ${DEFAULT-VALUE}).")
  int sandboxes;

  @Option(names = "--metric-server", paramLabel = "ADDRESS",
      description = "Where the metric server listens: host:port or an absolute Unix socket path (default: "
          + DEFAULT_ADDRESS + ", or the global --metric-server).")
  String metricServer;

  @Option(names = "--fault", paramLabel = "NAME",
      description = "Add one more sandbox that misbehaves this way (repeatable), to see that it costs only its own "
          + "data. One of: stall, slow, close, garbage, truncated, oversized, error, unknown-metric, "
          + "bad-field-value, counter-decrease, bad-buckets, future, too-old, ignore-filter.")
  List<String> faults = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (sandboxes < 0 || sandboxes > 1000) {
      throw CommandFailure.usage("--sandboxes must be between 0 and 1000, got " + sandboxes, null);
    }
    List<Fault> faultList = new ArrayList<>();
    for (String f : faults) {
      try {
        faultList.add(Fault.parse(f));
      } catch (IllegalArgumentException e) {
        throw CommandFailure.usage(e.getMessage(), e);
      }
    }
    String address = metricServer != null && !metricServer.isEmpty()
        ? metricServer
        : !global.metricServer().isEmpty() ? global.metricServer() : DEFAULT_ADDRESS;

    Path root = Files.createTempDirectory("sandbox-metrics-demo-");
    Simulator sim = null;
    MetricServer server = null;
    try {
      sim = Simulator.start(root, address);
      for (int i = 1; i <= sandboxes; i++) {
        sim.createRunning(SandboxSpec.builder("demo-" + i).podName("demo-pod-" + i).namespace("demo").build());
      }
      for (Fault f : faultList) {
        sim.createRunning(SandboxSpec.builder("demo-" + f.cliName()).podName("demo-" + f.cliName()).namespace("demo")
            .fault(f).build());
      }
      MetricServerOptions options = MetricServerOptions.of(root.toString(), address);
      boolean tcp = !address.startsWith("/");
      if (tcp) {
        options = options.withExtraListenAddresses(List.of(root.resolve(UNIX_SOCKET_NAME).toString()));
      }
      try {
        server = MetricServer.start(options);
      } catch (StartupException e) {
        String hint = e.getMessage().contains("in use") || e.getMessage().contains("cannot listen")
            ? " (choose another address, e.g. --metric-server=127.0.0.1:9191)" : "";
        throw e.isUsageError()
            ? CommandFailure.usage(e.getMessage(), e)
            : new CommandFailure(e.getMessage() + hint, e);
      }
      printInstructions(global.out(), root, server, tcp, sandboxes + faultList.size());
      ShutdownSignals.install(server);
      server.awaitTermination();
      return Main.EXIT_OK;
    } finally {
      if (server != null) {
        server.shutdown();
      }
      if (sim != null) {
        sim.close();
      }
      deleteRecursively(root);
      if (server != null) {
        global.out().println("Demo stopped; removed " + root + ".");
      }
    }
  }

  private static void printInstructions(PrintStream out, Path root, MetricServer server, boolean tcp, int count) {
    String rootQuery = URLEncoder.encode(root.toString(), StandardCharsets.UTF_8);
    String base;
    String curl;
    if (tcp) {
      InetSocketAddress a = server.tcpAddress();
      String host = a.getAddress().getHostAddress();
      base = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
      curl = "curl -s ";
    } else {
      base = "http://localhost";
      curl = "curl -s --unix-socket " + server.address() + " ";
    }
    out.println("sandbox-metrics demo: " + count + " simulated sandboxes in " + root);
    out.println("Metric server listening on " + String.join(" and ", server.listeningOn()));
    out.println();
    out.println("Try:");
    out.println("  " + curl + base + "/metrics");
    out.println("  " + curl + "'" + base + "/metrics?runsc-sandbox-metrics-filter=%5Efs_'");
    out.println("  " + curl + base + "/metrics | grep meta_");
    if (tcp) {
      out.println("  curl -s --unix-socket " + root.resolve(UNIX_SOCKET_NAME) + " http://localhost/metrics");
    }
    out.println("  " + curl + "'" + base + "/runsc-metrics/healthcheck?root=" + rootQuery + "'");
    out.println("  " + curl + "--compressed -D - -o /dev/null " + base + "/metrics");
    out.println();
    out.println("Press Ctrl-C to stop; the sandboxes and " + root + " are removed.");
    out.flush();
  }

  private static void deleteRecursively(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      System.err.println(Main.NAME + ": could not remove all of " + root + ": " + e.getMessage());
    }
  }
}
