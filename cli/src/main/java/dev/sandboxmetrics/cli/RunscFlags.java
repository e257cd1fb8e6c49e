package dev.sandboxmetrics.cli;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * runsc's global flags, so that {@code runsc --root=R --metric-server=A [flags] metric-server} keeps working
 * with {@code sandbox-metrics} in place of {@code runsc}. Called by {@link Main#run} first, before any other
 * parsing: it takes the runsc flags we do not declare ourselves out of the arguments before the
 * subcommand, parsing them as Go's {@code flag} package does ({@code -flag}, {@code --flag},
 * {@code -flag=value}, {@code -flag value} for valued flags, {@code -bool} and {@code -bool=false} for
 * boolean ones), and leaves everything else to picocli ({@code --root}, {@code --metric-server},
 * {@code --debug}, {@code --debug-log}, help, version, and any unknown flag, which stays a usage error).
 *
 * <p>A few have a meaning for a metric sidecar and get it, as runsc gives it for {@code metric-server}:
 * {@code --log} (runsc's error log: each failure is appended as a JSON object), {@code --debug-command}
 * (whether {@code --debug} and {@code --debug-log} apply to this command) and {@code --alsologtostderr}
 * (logs go to stderr too when {@code --debug-log} names a file). The others configure sandboxes, not a
 * metric server: they are accepted, their values unchecked, and named in one debug-level log line.
 *
 * <p>The lists come from gVisor's {@code runsc/config/flags.go} and {@code runsc/cli/cli.go}. The launcher
 * needs none of them: it finds the command by its name (LauncherCommandTest).
 */
final class RunscFlags {
  /** runsc's boolean global flags that we do not declare ourselves. */
  static final Set<String> BOOLEAN = Set.of(
      "systemd-cgroup", "log-packets", "debug-to-user-log", "alsologtostderr", "allow-flag-override", "strace",
      "strace-event", "profile", "rootless", "cpu-num-from-quota", "oci-seccomp", "enable-core-tags",
      "systrap-disable-syscall-patching", "systrap-disable-fast-path", "allow-suid", "kvm-use-cpu-nums",
      "allow-rootfs-tar-annotation", "app-huge-pages", "overlay", "gvisor-marker-file", "ignore-cgroups",
      "mount-cgroup-v2", "iouring", "directfs", "TESTONLY-nftables", "net-raw", "allow-packet-socket-write",
      "allow-live-tcp-migration", "gso", "software-gso", "gvisor-gro", "tx-checksum-offload",
      "rx-checksum-offload", "EXPERIMENTAL-xdp-need-wakeup", "reproduce-nat", "reproduce-nftables",
      "net-disconnect-ok", "pause-external-networking", "allow-connected-on-save", "nvproxy", "nvproxy-docker",
      "nvproxy-allow-unsupported-driver", "rdmaproxy", "tpuproxy", "TESTONLY-unsafe-nonroot",
      "TESTONLY-afs-syscall-panic", "TESTONLY-autosave-resume");

  /** runsc's global flags that take a value and that we do not declare ourselves. */
  static final Set<String> VALUED = Set.of(
      "log", "log-format", "debug-command", "panic-log", "coverage-report", "pcap-log", "debug-log-format",
      "traceback", "final-metrics-log", "profiling-metrics", "profiling-metrics-log",
      "profiling-metrics-rate-us", "strace-syscalls", "strace-log-size", "platform", "platform_device_path",
      "watchdog-action", "panic-signal", "profile-block", "profile-cpu", "profile-gc-interval", "profile-heap",
      "profile-mutex", "trace", "ref-leak-mode", "pod-init-config", "host-settings",
      "sidecar-release-enforcement-policy", "restore-spec-validation", "control-rpc-stop-timeout",
      "shared-root", "file-access", "file-access-mounts", "overlay2", "host-uds", "host-fifo",
      "character-device-policy", "override-procs", "fdlimit", "dcache", "network", "gofer-network-namespace",
      "qdisc", "qdisc-tbf-rate", "qdisc-tbf-burst", "num-network-channels", "network-processors-per-channel",
      "EXPERIMENTAL-xdp", "nvproxy-driver-version", "nvproxy-allowed-driver-capabilities",
      "TESTONLY-test-name-env", "TESTONLY-autosave-image-path", "log-fd", "debug-log-fd", "panic-log-fd",
      "coverage-fd");

  /** The flags given their meaning here; the rest are ignored. */
  static final Set<String> MEANINGFUL = Set.of("log", "debug-command", "alsologtostderr");

  private final Map<String, String> values;

  private RunscFlags(Map<String, String> values) {
    this.values = values;
  }

  /** No runsc flags: what the tests of the other parsing use. */
  static final RunscFlags NONE = new RunscFlags(Map.of());

  /**
   * The arguments with the runsc flags taken out, those flags, and the subcommand ("" when none), which
   * {@link Main} needs before parsing to build only that command's model.
   */
  record Split(String[] rest, RunscFlags flags, String subcommand) {}

  /** A runsc flag written wrongly: a usage error, worded as Go's flag package words it. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /**
   * The one pass over the global part of a command line: takes runsc's global flags out of the arguments
   * before the subcommand, parsing them as Go's {@code flag} package does, and finds the subcommand by the
   * launcher's rule: the first argument that names a command ({@link Main#SUBCOMMANDS}; a global option's
   * value is never a command name in practice, and {@code --root=demo} says it when it is). Everything else
   * before it (our global options, their values, unknown flags) is left in place for the parser.
   * {@code --} ends the global part. A later runsc flag wins, as in Go.
   */
  static Split split(String[] args) throws UsageException {
    Map<String, String> values = new LinkedHashMap<>();
    List<String> rest = new ArrayList<>(args.length);
    String subcommand = "";
    int i = 0;
    while (i < args.length) {
      String arg = args[i];
      if (arg.equals("--")) {
        break;
      }
      if (Main.SUBCOMMANDS.contains(arg)) {
        subcommand = arg;
        break;
      }
      if (!arg.startsWith("-") || arg.equals("-")) {
        rest.add(arg); // a value of one of our options, or a word the parser reports
        i++;
        continue;
      }
      String body = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
      int eq = body.indexOf('=');
      String name = eq < 0 ? body : body.substring(0, eq);
      if (BOOLEAN.contains(name)) {
        String v = eq < 0 ? "true" : body.substring(eq + 1);
        values.remove(name);
        values.put(name, Boolean.toString(goBool(name, v)));
        i++;
      } else if (VALUED.contains(name)) {
        String v;
        if (eq >= 0) {
          v = body.substring(eq + 1);
          i++;
        } else if (i + 1 < args.length) {
          v = args[i + 1]; // Go takes the next argument whatever it looks like
          i += 2;
        } else {
          throw new UsageException("flag needs an argument: -" + name);
        }
        values.remove(name);
        values.put(name, v);
      } else {
        rest.add(arg); // ours, or unknown (for the parser to report)
        i++;
      }
    }
    while (i < args.length) {
      rest.add(args[i++]);
    }
    return new Split(rest.toArray(new String[0]), values.isEmpty() ? NONE : new RunscFlags(values), subcommand);
  }

  /** Go's strconv.ParseBool. */
  private static boolean goBool(String name, String v) throws UsageException {
    return switch (v) {
      case "1", "t", "T", "TRUE", "true", "True" -> true;
      case "0", "f", "F", "FALSE", "false", "False" -> false;
      default -> throw new UsageException("invalid boolean value \"" + v + "\" for -" + name + ": parse error");
    };
  }

  /** The value of a flag as given (booleans as "true" or "false"); null when not given. */
  String get(String name) {
    return values.get(name);
  }

  boolean isSet(String name) {
    return values.containsKey(name);
  }

  /** {@code --alsologtostderr}. */
  boolean alsoLogToStderr() {
    return "true".equals(values.get("alsologtostderr"));
  }

  /** {@code --log}: runsc's error log file; "" when not given. */
  String errorLog() {
    return values.getOrDefault("log", "");
  }

  /**
   * runsc's {@code --debug-command} filter: whether {@code --debug} and {@code --debug-log} apply to
   * {@code command}. Empty means every command; a leading '!' negates the comma-separated list.
   */
  boolean isDebugCommand(String command) {
    String filter = values.getOrDefault("debug-command", "");
    if (filter.isEmpty()) {
      return true;
    }
    boolean match = true;
    if (filter.charAt(0) == '!') {
      filter = filter.substring(1);
      match = false;
    }
    for (String c : filter.split(",", -1)) {
      if (c.equals(command)) {
        return match;
      }
    }
    return !match;
  }

  /** The flags given that have no meaning here, as {@code --name=value}, for the log. */
  List<String> ignored() {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, String> e : values.entrySet()) {
      if (!MEANINGFUL.contains(e.getKey())) {
        out.add("--" + e.getKey() + "=" + e.getValue());
      }
    }
    return out;
  }

  /**
   * Opens runsc's error log ({@code --log}) for appending, as runsc does at start (Docker passes the same
   * file to every command); null when not given.
   */
  OutputStream openErrorLog() throws IOException {
    String file = errorLog();
    return file.isEmpty() ? null : new FileOutputStream(file, true);
  }

  /** One failure in runsc's error log format: {@code {"msg":...,"level":"error","time":...}}. */
  static void appendError(OutputStream log, String message) {
    String json = "{\"msg\":" + jsonString(message) + ",\"level\":\"error\",\"time\":\""
        + RunscTime.formatRfc3339Nano(Instant.now()) + "\"}\n";
    try {
      log.write(json.getBytes(StandardCharsets.UTF_8));
      log.flush();
    } catch (IOException e) {
      // The failure itself is on stderr already; a broken log file must not hide it.
    }
  }

  private static String jsonString(String s) {
    return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
  }

  /** A stream that writes to two, for {@code --alsologtostderr} with a {@code --debug-log} file. */
  static PrintStream tee(PrintStream a, PrintStream b) {
    return new PrintStream(new OutputStream() {
      @Override
      public void write(int c) {
        a.write(c);
        b.write(c);
      }

      @Override
      public void write(byte[] buf, int off, int len) {
        a.write(buf, off, len);
        b.write(buf, off, len);
      }

      @Override
      public void flush() {
        a.flush();
        b.flush();
      }
    }, true, StandardCharsets.UTF_8);
  }
}
