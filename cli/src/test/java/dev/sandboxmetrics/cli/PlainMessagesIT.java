package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every failure a user can cause on the command line is one plain sentence that names the thing and the
 * fix: no Java exception names, no Netty error numbers, no picocli "index 0". Run through the launcher.
 */
@Timeout(180)
class PlainMessagesIT {
  private static final Pattern LOG_LINE = Pattern.compile("^\\d{4}-\\d\\d-\\d\\dT\\S+ \\[(INFO|WARN)\\] ");

  @TempDir Path tmp;

  /**
   * Exit code and the one failure line (the server's log lines before it aside), which has none of the
   * words only a Java programmer reads.
   */
  private static void assertPlain(Cli.Result r, int exit, String... parts) {
    assertThat(r.exit()).as(r.toString()).isEqualTo(exit);
    List<String> failure = r.errLines().stream().filter(l -> !LOG_LINE.matcher(l).find()).toList();
    assertThat(failure).as(r.toString()).hasSize(1);
    String line = failure.get(0);
    assertThat(line).as(r.toString()).startsWith("sandbox-metrics: ").contains(parts)
        .doesNotContain("java.", "Exception", "error(-", "bind(..)", "index 0", "Unmatched", "Unknown options");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void unknownCommandListsTheCommands() throws Exception {
    assertPlain(Cli.run("frobnicate"), 2, "unknown command 'frobnicate'",
        String.join(", ", Main.SUBCOMMANDS));
  }

  @Test
  void globalOptionAfterTheCommandSaysWhereItGoes() throws Exception {
    assertPlain(Cli.run("export-metrics", "--root", "/x", "sim-000"), 2,
        "--root is a global option: put it before the command", "sandbox-metrics --root=DIR export-metrics");
    assertPlain(Cli.run("export-metrics", "-root=/x", "sim-000"), 2, "--root is a global option");
    assertPlain(Cli.run("metric-server", "--debug"), 2, "--debug is a global option",
        "sandbox-metrics --debug metric-server");
    // One of runsc's global flags, which runsc also takes only before the command.
    assertPlain(Cli.run("metric-server", "--platform=kvm"), 2, "--platform is a global option");
  }

  @Test
  void addressInUseNamesTheAddress() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      String address = "127.0.0.1:" + taken.getLocalPort();
      Path pidFile = tmp.resolve("pid");
      assertPlain(Cli.run("--root=" + root, "--metric-server=" + address, "metric-server", "--pid-file=" + pidFile),
          1, "cannot listen on TCP address " + address + ": address in use");
      assertThat(pidFile).doesNotExist();
    }
  }

  @Test
  void socketOrPidFileInAMissingDirectoryNamesTheDirectory() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Path socket = tmp.resolve("no-such-dir/metrics.sock");
    assertPlain(Cli.run("--root=" + root, "--metric-server=" + socket, "metric-server"), 1,
        "cannot listen on Unix socket " + socket + ": its directory does not exist");

    Path okSocket = tmp.resolve("m.sock");
    Path pidFile = tmp.resolve("missing/server.pid");
    assertPlain(Cli.run("--root=" + root, "--metric-server=" + okSocket, "metric-server", "--pid-file=" + pidFile), 1,
        "--pid-file \"" + pidFile + "\": its directory " + pidFile.getParent() + " does not exist");
    assertThat(okSocket).as("the socket of a server that could not start").doesNotExist();
  }

  @Test
  void rootThatIsAFileSaysSoForBothCommands() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertPlain(Cli.run("--root=" + file, "--metric-server=127.0.0.1:0", "metric-server"), 1,
        "root directory \"" + file + "\": cannot list it: it is not a directory", "--root");
    for (Path root : List.of(file, file.resolve("below"))) {
      assertPlain(Cli.run("--root=" + root, "export-metrics", "x"), 1,
          "cannot list root directory " + root + ": it is not a directory", "--root");
    }
  }
}
