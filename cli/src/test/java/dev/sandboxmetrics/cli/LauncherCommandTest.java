package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The launcher picks the JVM options by command without any list of options: on generated command lines
 * (our global options and runsc's, in Go's spellings, with values, then the command and its arguments,
 * which may themselves be command names), the launcher's choice is the command the CLI parses.
 */
class LauncherCommandTest {
  private static final List<String> VALUED = List.of("root", "metric-server", "debug-log", "platform", "network",
      "log", "log-format", "debug-command", "panic-log");
  private static final List<String> BOOLEAN = List.of("debug", "rootless", "systemd-cgroup", "alsologtostderr");
  private static final List<String> VALUES = List.of("/var/run/runsc", "kvm", "host", "x", "localhost:1337", "");

  @Test
  void theLauncherChoosesTheCommandTheCliParses() throws Exception {
    Random random = new Random(42);
    for (int i = 0; i < 60; i++) {
      List<String> args = new ArrayList<>();
      for (int n = random.nextInt(5); n > 0; n--) {
        String dashes = random.nextBoolean() ? "-" : "--";
        if (random.nextBoolean()) {
          String name = VALUED.get(random.nextInt(VALUED.size()));
          String value = VALUES.get(random.nextInt(VALUES.size()));
          if (random.nextBoolean()) {
            args.add(dashes + name + "=" + value);
          } else {
            args.add(dashes + name);
            args.add(value.isEmpty() ? "v" : value);
          }
        } else {
          String name = BOOLEAN.get(random.nextInt(BOOLEAN.size()));
          args.add(random.nextBoolean() ? dashes + name : dashes + name + "=false");
        }
      }
      String command = Main.SUBCOMMANDS.get(random.nextInt(Main.SUBCOMMANDS.size()));
      args.add(command);
      if (command.equals("export-metrics")) {
        args.add(Main.SUBCOMMANDS.get(random.nextInt(Main.SUBCOMMANDS.size()))); // a container named "demo"
      } else if (command.equals("completion")) {
        args.add("bash");
      }
      String[] raw = args.toArray(new String[0]);

      String parsed;
      try {
        parsed = Main.parse(RunscFlags.split(raw).rest()).subcommand().commandSpec().name();
      } catch (picocli.CommandLine.ParameterException e) {
        parsed = e.getCommandLine().getCommandSpec().name(); // a command that wants arguments this line lacks
      }
      assertThat(parsed).as("the CLI's command for %s", args).isEqualTo(command);
      assertThat(launcherProfile(raw)).as("the launcher's JVM options for %s", args).isEqualTo(profile(command));
    }
  }

  private static String profile(String command) {
    return switch (command) {
      case "metric-server" -> "server";
      case "simulate", "demo" -> "long-running";
      default -> "one-shot";
    };
  }

  /** Which of its three sets of JVM options the launcher would run {@code args} with. */
  private static String launcherProfile(String[] args) throws Exception {
    List<String> command = new ArrayList<>(List.of(Cli.repoRoot().resolve("sandbox-metrics").toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().put("SANDBOX_METRICS_PRINT_COMMAND", "1");
    pb.environment().remove("SANDBOX_METRICS_JAVA_OPTS");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    List<String> words = List.of(out.split("\n"));
    // Only the server sizes its heap to what it holds.
    if (words.stream().anyMatch(w -> w.startsWith("-XX:MaxHeapFreeRatio="))) {
      return "server";
    }
    return words.contains("-XX:TieredStopAtLevel=1") ? "one-shot" : "long-running";
  }
}
