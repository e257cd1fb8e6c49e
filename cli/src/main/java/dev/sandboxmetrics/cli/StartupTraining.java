package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.posix.NativeDispatch;
import dev.sandboxmetrics.simulator.Profile;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The training run behind the launcher's start-up cache: {@code ./sandbox-metrics} runs this class once per
 * jar and JDK, with {@code -XX:DumpLoadedClassList} (for a CDS archive) or {@code -XX:AOTCacheOutput} (for
 * the AOT cache of JDK 25 and later), so that the classes the one-shot commands load are found in the
 * archive ready to use in later runs. It needs no real sandbox: it starts one simulated sandbox in a
 * temporary root and runs, in this JVM, what a user runs most: {@code export-metrics} (with and without
 * {@code --verify}, and once through picocli), help, the version, and a usage error. It also keeps JNA's
 * native part in {@code JNA_DIR} ({@link NativeDispatch}).
 *
 * <p>Given {@code EXPORT_OUTPUT} (a JVM option such as {@code -XX:DumpLoadedClassList=FILE} or
 * {@code -XX:AOTCacheOutput=FILE}) and the JVM options of the one-shot commands, it also runs one
 * {@code export-metrics --verify} in a JVM of its own with those options: the classes of just that command
 * (a plain export loads a subset of them), for a second, smaller archive that the launcher uses for
 * {@code export-metrics}. The full archive holds picocli, help and the simulator too, and the JVM relocates
 * the whole mapped archive at every start (~4 ms per MB here), so the export-only archive measured faster:
 * JDK 17 ~14 instead of ~20 MB, 193 vs 212 ms (20 interleaved runs); JDK 25's AOT cache 17 instead of 22
 * MB, CPU 263 vs 283 ms. Used for help or the version it would cost ~60 ms more than the full one.
 *
 * <p>Usage: {@code java -cp sandbox-metrics.jar dev.sandboxmetrics.cli.StartupTraining JNA_DIR
 * [EXPORT_OUTPUT [JVM_OPTION...]]}. What the commands print is not the point; the launcher sends it to a log
 * file. Exit code 0 when every step behaved as expected, so that the launcher keeps an archive only from a
 * run that did what it should.
 */
public final class StartupTraining {
  private StartupTraining() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: StartupTraining JNA_DIR [EXPORT_OUTPUT [JVM_OPTION...]]");
      System.exit(Main.EXIT_USAGE);
    }
    Path jnaDir = NativeDispatch.unpackTo(Path.of(args[0])).getParent();
    Path root = Files.createTempDirectory("sandbox-metrics-training");
    int failures = 0;
    try (Simulator sim = Simulator.start(root.resolve("runsc"), "localhost:1")) {
      String id = sim.createRunning(SandboxSpec.builder("training").profile(Profile.BENCH).build()).id();
      String r = "--root=" + sim.root();
      if (args.length >= 2) {
        failures += exportInItsOwnJvm(args[1], List.of(args).subList(2, args.length), jnaDir, r, id);
      }
      failures += expect(Main.EXIT_OK, r, "export-metrics", id);
      failures += expect(Main.EXIT_OK, r, "export-metrics", "--verify", id);
      failures += expect(Main.EXIT_OK, r, "export-metrics", "--", id); // through picocli (the fast path declines --)
      failures += expect(Main.EXIT_OK, "--help");
      failures += expect(Main.EXIT_OK, "export-metrics", "--help");
      failures += expect(Main.EXIT_OK, "--version");
      failures += expect(Main.EXIT_USAGE, "export-metrics");
      failures += expect(Main.EXIT_FAILURE, r, "export-metrics", "no-such-container");
    } finally {
      deleteTree(root);
    }
    System.exit(failures == 0 ? Main.EXIT_OK : Main.EXIT_FAILURE);
  }

  /**
   * Runs {@code export-metrics --verify ID} in a new JVM (this JVM's java and class path, {@code options} and
   * {@code output}, which names the file it writes after its {@code =}); 1 when it failed.
   */
  private static int exportInItsOwnJvm(String output, List<String> options, Path jnaDir, String root, String id)
      throws IOException, InterruptedException {
    Path written = Path.of(output.substring(output.indexOf('=') + 1));
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(options);
    cmd.addAll(List.of(output, "-Djna.boot.library.path=" + jnaDir, "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), root, "export-metrics", "--verify", id));
    Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      System.err.println("training: the export-only JVM did not finish");
      return 1;
    }
    if (p.exitValue() != Main.EXIT_OK || !Files.isRegularFile(written)) {
      System.err.println("training: the export-only JVM exited " + p.exitValue());
      return 1;
    }
    return 0;
  }

  private static int expect(int exitCode, String... args) {
    int got = Main.run(args);
    if (got == exitCode) {
      return 0;
    }
    System.err.println("training: " + String.join(" ", args) + " exited " + got + ", expected " + exitCode);
    return 1;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
