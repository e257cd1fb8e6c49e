package dev.sandboxmetrics.simulator;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The parent of every holder process of one simulator: a small bash loop that starts a holder when asked
 * and reaps holders as soon as they die. Holders could be started by the JVM directly, but the JDK then
 * keeps a "process reaper" thread blocked on each child: 1000 sandboxes cost 1000 threads and 80 MB of
 * stacks. With one host there is one such thread. Bash (not dash) reaps background children from its
 * SIGCHLD handler even while it waits for the next command, so a killed holder leaves no zombie that would
 * still answer signal 0.
 *
 * <p>Everything dies with the JVM: the host reads its commands from a pipe, and when that pipe ends (the
 * simulator closed, or the JVM died) it kills its remaining holders and exits. It ignores SIGINT, SIGTERM
 * and SIGHUP so that Ctrl-C in a terminal leaves the clean-up to the simulator. Holders get SIGTERM and
 * SIGHUP back (an ignored signal would otherwise be inherited), but, as background jobs of a
 * non-interactive shell, keep ignoring SIGINT.
 */
final class HolderHost implements AutoCloseable {
  /**
   * Holders are {@code cat}s reading a pipe that only this host can write to (a FIFO opened and unlinked at
   * once): should the host itself be killed, they see end of file and exit too. {@code exec -a} names them
   * after their sandbox for {@code ps}.
   */
  private static final String SCRIPT =
      "trap '' INT TERM HUP\n"
          + "f=$(mktemp -u \"${TMPDIR:-/tmp}/sandbox-metrics-holders.XXXXXXXXXX\") && mkfifo -m 600 \"$f\" "
          + "&& exec 3<>\"$f\" 4<\"$f\" && rm -f \"$f\" || exit 1\n"
          + "echo ready\n"
          + "while read -r cmd id; do\n"
          + "  case \"$cmd\" in\n"
          + "    spawn) (trap - TERM HUP; exec -a \"runsc-sandbox-simulated $id\" cat <&4 3>&- 4<&-) >/dev/null 2>&1 &\n"
          + "           echo \"$!\" ;;\n"
          + "    *) echo error ;;\n"
          + "  esac\n"
          + "done\n"
          + "kill -KILL $(jobs -p) 2>/dev/null\n"
          + "wait\n";

  private final Process bash;
  private final Writer commands;
  private final BufferedReader replies;

  private HolderHost(Process bash) {
    this.bash = bash;
    this.commands = new OutputStreamWriter(bash.getOutputStream(), StandardCharsets.US_ASCII);
    this.replies = new BufferedReader(new InputStreamReader(bash.getInputStream(), StandardCharsets.US_ASCII));
  }

  static HolderHost start() throws IOException {
    HolderHost host;
    try {
      host =
          new HolderHost(
              new ProcessBuilder("bash", "--norc", "--noprofile", "-c", SCRIPT)
                  .redirectError(ProcessBuilder.Redirect.DISCARD)
                  .start());
    } catch (IOException e) {
      throw new IOException(
          "cannot start bash, which the simulator needs to run its sandbox processes: " + e.getMessage(), e);
    }
    String first = host.replies.readLine();
    if (!"ready".equals(first)) {
      host.close();
      throw new IOException("the simulator's process host (bash) could not set up its pipe (mktemp, mkfifo)");
    }
    return host;
  }

  /**
   * Starts a holder process and returns its PID. The ID only names the process.
   *
   * @throws IOException when the host is gone
   */
  synchronized long spawn(String sandboxId) throws IOException {
    String line;
    try {
      commands.write("spawn " + sandboxId + "\n");
      commands.flush();
      line = replies.readLine();
    } catch (IOException e) {
      throw new IOException("the simulator's process host (bash) is gone: " + e.getMessage(), e);
    }
    if (line == null) {
      throw new IOException("the simulator's process host (bash) exited");
    }
    try {
      return Long.parseLong(line.trim());
    } catch (NumberFormatException e) {
      throw new IOException("the simulator's process host (bash) answered \"" + line + "\" instead of a PID", e);
    }
  }

  /** Ends the host: it kills the holders still alive, reaps them and exits. */
  @Override
  public synchronized void close() {
    try {
      commands.close();
    } catch (IOException ignored) {
      // A host that is already gone has nothing left to clean up.
    }
    try {
      if (!bash.waitFor(30, TimeUnit.SECONDS)) {
        bash.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
