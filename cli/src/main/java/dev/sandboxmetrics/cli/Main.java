package dev.sandboxmetrics.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * Entry point of the {@code sandbox-metrics} executable (run by the {@code ./sandbox-metrics} launcher).
 * Holds runsc's global flags, which come before the subcommand as with runsc
 * ({@code sandbox-metrics --root=DIR export-metrics ID}), and does what every subcommand relies on:
 *
 * <ul>
 *   <li>accepts Go's flag spellings ({@code -root=DIR}, {@code -debug}) besides picocli's ({@link GoFlags});
 *   <li>configures logging before the first logger exists: SLF4J simple on stderr, or in the
 *       {@code --debug-log} file; level debug with {@code --debug};
 *   <li>exit codes scripts can rely on: 0 ok, 1 runtime failure, 2 usage error; a failure is one line,
 *       {@code sandbox-metrics: <message>}, on stderr (a stack trace only with {@code --debug}); results go
 *       to stdout.
 * </ul>
 *
 * <p>Subcommands reach the global options through {@code @ParentCommand Main global}: {@link #root()},
 * {@link #metricServer()}, {@link #debug()}, and print user-facing lines with {@link #err()}, which stays
 * the terminal's stderr even when logs go to a file. They must not create loggers in static initializers
 * that run before {@link #main} has configured logging (obtain them in {@code call()} or lazily).
 */
@Command(
    name = Main.NAME,
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Prometheus metrics of gVisor (runsc) sandboxes; a drop-in for runsc metric-server and export-metrics.",
      "Global options come before the subcommand. Go-style spellings work too: -root=DIR, -root DIR, -debug.",
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:success", "1:runtime failure (message on stderr)", "2:usage error"},
    subcommands = {
      ExportMetricsCommand.class,
      MetricServerCommand.class,
      SimulateCommand.class,
      DemoCommand.class,
    })
public final class Main implements Callable<Integer> {
  public static final String NAME = "sandbox-metrics";
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILURE = 1;
  public static final int EXIT_USAGE = 2;

  /** runsc's default root when neither --root nor XDG_RUNTIME_DIR is set. */
  static final String DEFAULT_ROOT = "/var/run/runsc";

  @Option(
      names = "--root",
      paramLabel = "DIR",
      description = "OCI runtime root directory holding the state files (default: $XDG_RUNTIME_DIR/runsc when "
          + "XDG_RUNTIME_DIR is set, else " + DEFAULT_ROOT + ", as runsc).")
  String root = "";

  @Option(
      names = "--metric-server",
      paramLabel = "ADDRESS",
      description = "Address of the metric server: host:port, :port, or an absolute Unix socket path; "
          + "%%RUNTIME_ROOT%% is replaced by the root directory. Must equal what the sandboxes were created with.")
  String metricServer = "";

  @Option(names = "--debug", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Verbose (debug) logging.")
  boolean debug;

  @Option(
      names = "--debug-log",
      paramLabel = "PATH",
      description = "Write logs to this file (appended) instead of stderr. A path ending in '/' is a directory: "
          + "the file is runsc.log.%%TIMESTAMP%%.%%COMMAND%%.txt in it. %%TIMESTAMP%% and %%COMMAND%% are "
          + "replaced as runsc does.")
  String debugLog = "";

  @Spec CommandSpec spec;

  /** The terminal's stderr and stdout, kept before logging may redirect System.err to a file. */
  private PrintStream err = System.err;

  private PrintStream out = System.out;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Parses, configures logging, runs the subcommand; returns the exit code. */
  static int run(String[] rawArgs) {
    PrintStream stderr = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
    PrintStream stdout = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    Main main = new Main();
    main.err = stderr;
    main.out = stdout;
    CommandLine cmd = new CommandLine(main);
    String[] args = GoFlags.normalize(rawArgs, longOptionNames(cmd.getCommandSpec()));

    // Logging must be configured before any logger exists, so before picocli runs a subcommand;
    // a quick look at the global options suffices (picocli validates them properly right after).
    GlobalPeek peek = GlobalPeek.of(args);
    try {
      configureLogging(peek, stderr);
    } catch (IOException e) {
      stderr.println(NAME + ": cannot open the --debug-log file: " + e.getMessage());
      return EXIT_FAILURE;
    }

    cmd.setOverwrittenOptionsAllowed(true); // Go's flag package lets a later flag win.
    cmd.setOut(new PrintWriter(stdout, true));
    cmd.setErr(new PrintWriter(stderr, true));
    cmd.setParameterExceptionHandler(Main::onUsageError);
    cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> main.onFailure(ex));
    cmd.setExecutionStrategy(parseResult -> {
      main.resolveDefaults();
      return new CommandLine.RunLast().execute(parseResult);
    });
    return cmd.execute(args);
  }

  /** {@code sandbox-metrics} alone: say what to do. */
  @Override
  public Integer call() {
    err.println(NAME + ": a subcommand is required (see '" + NAME + " --help')");
    return EXIT_USAGE;
  }

  // ---- for subcommands ----

  /** The root directory: {@code --root}, or runsc's default. */
  public String root() {
    return root;
  }

  /** {@code --metric-server} as given ("" when unset). */
  public String metricServer() {
    return metricServer;
  }

  public boolean debug() {
    return debug;
  }

  /** {@code --debug-log} as given ("" when unset). */
  public String debugLog() {
    return debugLog;
  }

  /** The terminal's stderr, for user-facing messages (logs may go elsewhere). */
  public PrintStream err() {
    return err;
  }

  /** The terminal's stdout, for results. */
  public PrintStream out() {
    return out;
  }

  // ---- internals ----

  private void resolveDefaults() {
    if (root == null || root.isEmpty()) {
      String xdg = System.getenv("XDG_RUNTIME_DIR");
      root = xdg != null && !xdg.isEmpty() ? Path.of(xdg, "runsc").toString() : DEFAULT_ROOT;
    }
  }

  private static int onUsageError(ParameterException ex, String[] args) {
    CommandLine c = ex.getCommandLine();
    c.getErr().println(NAME + ": " + oneLine(ex.getMessage())
        + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
    return EXIT_USAGE;
  }

  private int onFailure(Exception ex) {
    if (ex instanceof CommandFailure f) {
      err.println(NAME + ": " + oneLine(f.getMessage()));
      if (debug && f.getCause() != null) {
        f.getCause().printStackTrace(err);
      }
      return f.exitCode();
    }
    // A bug, not bad input: still one line, with the details behind --debug.
    err.println(NAME + ": internal error: " + oneLine(String.valueOf(ex))
        + (debug ? "" : " (run with --debug for details)"));
    if (debug) {
      ex.printStackTrace(err);
    }
    return EXIT_FAILURE;
  }

  /** Keeps a message on one line whatever it quotes (sandbox error texts, file contents). */
  static String oneLine(String message) {
    if (message == null) {
      return "";
    }
    return message.strip().replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
  }

  private static Set<String> longOptionNames(CommandSpec spec) {
    Set<String> names = new HashSet<>();
    collect(spec, names);
    return names;
  }

  private static void collect(CommandSpec spec, Set<String> names) {
    for (OptionSpec o : spec.options()) {
      for (String n : o.names()) {
        if (n.startsWith("--")) {
          names.add(n.substring(2));
        }
      }
    }
    for (CommandLine sub : spec.subcommands().values()) {
      collect(sub.getCommandSpec(), names);
    }
  }

  /**
   * Sets SLF4J simple's properties. Logs go to System.err, which is the log file when {@code --debug-log}
   * is given (slf4j-simple would truncate a file it opens itself; runsc appends).
   */
  private static void configureLogging(GlobalPeek peek, PrintStream terminalErr) throws IOException {
    String level = peek.debug ? "debug" : defaultLevel(peek.subcommand);
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
    System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
    System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
    System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
    System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "true");
    // Netty's debug output is about Netty, not about sandboxes.
    System.setProperty("org.slf4j.simpleLogger.log.io.netty", peek.debug ? "info" : "warn");
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    if (!peek.debugLog.isEmpty()) {
      Path file = debugLogFile(peek.debugLog, peek.subcommand);
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      System.setErr(new PrintStream(new FileOutputStream(file.toFile(), true), true, StandardCharsets.UTF_8));
    } else {
      System.setErr(terminalErr);
    }
  }

  /** Long-running commands report what they do; one-shot commands speak only when something is wrong. */
  private static String defaultLevel(String subcommand) {
    return switch (subcommand) {
      case "metric-server", "simulate", "demo" -> "info";
      default -> "warn";
    };
  }

  /** runsc's {@code --debug-log} naming: a directory gets a default file name; variables are replaced. */
  static Path debugLogFile(String pattern, String command) {
    String p = pattern.endsWith("/") ? pattern + "runsc.log.%TIMESTAMP%.%COMMAND%.txt" : pattern;
    String timestamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss.SSSSSS"));
    return Path.of(p.replace("%TIMESTAMP%", timestamp).replace("%COMMAND%", command));
  }

  /** The global options and the subcommand name, read from normalized arguments without picocli. */
  private record GlobalPeek(boolean debug, String debugLog, String subcommand) {
    static GlobalPeek of(String[] args) {
      boolean debug = false;
      String debugLog = "";
      String subcommand = "";
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (!a.startsWith("-")) {
          subcommand = a;
          break;
        }
        if (a.equals("--debug")) {
          boolean next = i + 1 < args.length && (args[i + 1].equalsIgnoreCase("true") || args[i + 1].equalsIgnoreCase("false"));
          debug = !next || Boolean.parseBoolean(args[++i]);
        } else if (a.startsWith("--debug=")) {
          debug = Boolean.parseBoolean(a.substring("--debug=".length()));
        } else if (a.equals("--debug-log") && i + 1 < args.length) {
          debugLog = args[++i];
        } else if (a.startsWith("--debug-log=")) {
          debugLog = a.substring("--debug-log=".length());
        } else if ((a.equals("--root") || a.equals("--metric-server")) && i + 1 < args.length) {
          i++;
        }
      }
      return new GlobalPeek(debug, debugLog, subcommand);
    }
  }

  /** Used by tests of the parsing without running a subcommand. */
  static ParseResult parse(String... rawArgs) {
    CommandLine cmd = new CommandLine(new Main());
    cmd.setOverwrittenOptionsAllowed(true);
    return cmd.parseArgs(GoFlags.normalize(rawArgs, longOptionNames(cmd.getCommandSpec())));
  }
}
