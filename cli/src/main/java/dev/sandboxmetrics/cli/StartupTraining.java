package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.posix.NativeDispatch;
import dev.sandboxmetrics.simulator.Profile;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
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
 * <p>Usage: {@code java -cp sandbox-metrics.jar dev.sandboxmetrics.cli.StartupTraining JNA_DIR}. What the
 * commands print is not the point; the launcher sends it to a log file. Exit code 0 when every step
 * behaved as expected, so that the launcher keeps an archive only from a run that did what it should.
 */
public final class StartupTraining {
  private StartupTraining() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: StartupTraining JNA_DIR");
      System.exit(Main.EXIT_USAGE);
    }
    NativeDispatch.unpackTo(Path.of(args[0]));
    Path root = Files.createTempDirectory("sandbox-metrics-training");
    int failures = 0;
    try (Simulator sim = Simulator.start(root.resolve("runsc"), "localhost:1")) {
      String id = sim.createRunning(SandboxSpec.builder("training").profile(Profile.BENCH).build()).id();
      String r = "--root=" + sim.root();
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
