package dev.sandboxmetrics.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
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
 *   <li>accepts Go's flag spellings ({@code -root=DIR}, {@code -debug}) besides picocli's ({@link GoFlags}),
 *       and runsc's other global flags ({@link RunscFlags});
 *   <li>starts fast and small: the usual {@code export-metrics} and {@code metric-server} command lines skip
 *       picocli ({@link ExportMetricsFastPath}, {@link MetricServerFastPath}: its start-up, and for the
 *       server the metaspace its classes hold), and otherwise only the invoked subcommand's model is built;
 *   <li>configures logging from the parsed options, after parsing and before the subcommand runs, so before
 *       the first logger exists: SLF4J simple on stderr, or in the {@code --debug-log} file; level debug with
 *       {@code --debug};
 *   <li>exit codes scripts can rely on: 0 ok, 1 runtime failure, 2 usage error; a failure is one line,
 *       {@code sandbox-metrics: <message>}, on stderr (a stack trace only with {@code --debug}); results go
 *       to stdout.
 * </ul>
 *
 * <p>How a command line is read: {@link RunscFlags#split} takes runsc's flags out of the global part and
 * finds the command as the launcher does (the first argument that names one); then either a fast path
 * ({@link FastPathArgs}), or picocli with only the invoked command's model, after {@link GoFlags} (the one
 * translation of Go's spellings) has rewritten Go's one-dash spellings of the option names in that model;
 * then {@link #execute} configures logging from what was parsed and runs the command. Our options are
 * declared once, in their command classes; the fast paths read the same name constants (ROOT, ...), and
 * their tests check on generated command lines that they parse as picocli does. runsc's flags are runsc's
 * names, listed in {@link RunscFlags}. Why the fast paths stay: README, "Start-up of export-metrics" and
 * "Memory".
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
      "runsc's other global flags are accepted too: --log, --debug-command and --alsologtostderr as in runsc, "
          + "the rest (--platform, --network, ...) ignored.",
    },
    exitCodeListHeading = Main.EXIT_CODE_LIST_HEADING,
    exitCodeList = {"0:success", "1:runtime failure (message on stderr)", "2:usage error"})
public final class Main implements Callable<Integer> {
  public static final String NAME = "sandbox-metrics";
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILURE = 1;
  public static final int EXIT_USAGE = 2;
  static final String EXIT_CODE_LIST_HEADING = "%nExit codes:%n";

  /**
   * The subcommands, in the order help lists them. They are not in the {@code @Command} annotation: picocli
   * builds a command's model by reflection, which costs tens of milliseconds per command at JVM start, so
   * {@link #run} registers only the one being invoked, and all of them only when the list itself matters
   * (help, an unknown or missing subcommand).
   */
  static final List<String> SUBCOMMANDS =
      List.of("export-metrics", "metric-server", "simulate", "demo", "stats", "completion");

  /** runsc's default root when neither --root nor XDG_RUNTIME_DIR is set. */
  static final String DEFAULT_ROOT = "/var/run/runsc";

  // The names of the global options, shared with ExportMetricsFastPath.
  static final String ROOT = "--root";
  static final String METRIC_SERVER = "--metric-server";
  static final String DEBUG = "--debug";
  static final String DEBUG_LOG = "--debug-log";

  @Option(
      names = ROOT,
      paramLabel = "DIR",
      description = "OCI runtime root directory holding the state files (default: $XDG_RUNTIME_DIR/runsc when "
          + "XDG_RUNTIME_DIR is set, else " + DEFAULT_ROOT + ", as runsc).")
  String root = "";

  @Option(
      names = METRIC_SERVER,
      paramLabel = "ADDRESS",
      description = "Address of the metric server: host:port, :port, or an absolute Unix socket path; "
          + "%%RUNTIME_ROOT%% is replaced by the root directory. Must equal what the sandboxes were created with.")
  String metricServer = "";

  @Option(names = DEBUG, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Verbose (debug) logging.")
  boolean debug;

  @Option(
      names = DEBUG_LOG,
      paramLabel = "PATH",
      description = "Write logs to this file (appended) instead of stderr. A path ending in '/' is a directory: "
          + "the file is runsc.log.%%TIMESTAMP%%.%%COMMAND%%.txt in it. %%TIMESTAMP%% and %%COMMAND%% are "
          + "replaced as runsc does.")
  String debugLog = "";

  @Spec CommandSpec spec;

  /** The terminal's stderr and stdout, kept before logging may redirect System.err to a file. */
  private PrintStream err = System.err;

  private PrintStream out = System.out;

  /** runsc's global flags given before the command ({@link RunscFlags#split} took them out). */
  private RunscFlags runsc = RunscFlags.NONE;

  /** runsc's error log ({@code --log}), or null. */
  private OutputStream errorLog;

  public Main() {}

  private Main(PrintStream err, PrintStream out, RunscFlags runsc) {
    this.err = err;
    this.out = out;
    this.runsc = runsc;
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Parses, configures logging, runs the subcommand; returns the exit code. */
  static int run(String[] rawArgs) {
    PrintStream stderr = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
    PrintStream stdout = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    RunscFlags.Split split;
    try {
      split = RunscFlags.split(rawArgs);
    } catch (RunscFlags.UsageException e) {
      stderr.println(NAME + ": " + e.getMessage() + " (see '" + NAME + " --help')");
      return EXIT_USAGE;
    }
    Main main = new Main(stderr, stdout, split.flags());
    // Still in Go's spellings: the fast path reads both, picocli gets them rewritten by GoFlags.
    String[] args = split.rest();
    if (split.subcommand().equals("export-metrics")) {
      ExportWarmUp.start(); // JNA's start on the second core while this thread parses and finds the state file
      ExportMetricsCommand export = ExportMetricsFastPath.parse(main, args);
      if (export != null) {
        return main.execute("export-metrics", export);
      }
    } else if (split.subcommand().equals("metric-server")) {
      // Without picocli, whose classes would stay loaded for the server's whole life (MetricServerFastPath).
      // Into a Main of its own: one the fast path declined may be partly set, and picocli starts afresh.
      Main fast = new Main(stderr, stdout, split.flags());
      MetricServerCommand server = MetricServerFastPath.parse(fast, args);
      if (server != null) {
        return fast.execute("metric-server", server);
      }
    }
    return runWithPicocli(main, split.subcommand(), args);
  }

  private static int runWithPicocli(Main main, String subcommand, String[] goArgs) {
    CommandLine cmd = commandLine(main, subcommand, needsAllSubcommands(subcommand, goArgs));
    String[] args = GoFlags.normalize(goArgs, longOptionNames(cmd));
    // The setters below apply to the subcommands registered so far, so those come first.
    cmd.setOverwrittenOptionsAllowed(true); // Go's flag package lets a later flag win.
    cmd.setOut(new PrintWriter(main.out, true));
    cmd.setErr(new PrintWriter(main.err, true));
    PicocliHooks hooks = new PicocliHooks(main);
    cmd.setParameterExceptionHandler(hooks);
    cmd.setExecutionStrategy(hooks);
    return cmd.execute(args);
  }

  /**
   * Main's hooks into picocli's {@code execute}. A class rather than lambdas: an interface a lambda
   * implements is linked while the launcher's training run dumps its class list, and JDK 17's CDS then leaves
   * it, and every picocli class implementing it, out of the archive (picocli's class files are Java 5's).
   */
  private static final class PicocliHooks
      implements CommandLine.IExecutionStrategy, CommandLine.IParameterExceptionHandler {
    private final Main main;

    PicocliHooks(Main main) {
      this.main = main;
    }

    /** Parsed, not yet run: the moment to configure logging, before any logger exists. */
    @Override
    public int execute(ParseResult parseResult) {
      ParseResult last = parseResult;
      while (last.hasSubcommand()) {
        last = last.subcommand();
      }
      String name = last == parseResult ? "" : last.commandSpec().name();
      return main.execute(name, () -> new CommandLine.RunLast().execute(parseResult));
    }

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
      return onUsageError(ex, args);
    }
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

  /**
   * Runs {@code command} (the subcommand's name, "" for none) once its command line is parsed, by picocli or
   * the fast path: applies runsc's {@code --debug-command}, opens runsc's {@code --log}, configures logging
   * from the parsed options (no logger exists before this), resolves the default root, then calls it.
   * A failure of the call is reported as {@link #onFailure} words it.
   */
  private int execute(String command, Callable<Integer> body) {
    if (!runsc.isDebugCommand(command)) {
      debug = false;
      debugLog = "";
    }
    try {
      errorLog = runsc.openErrorLog();
    } catch (IOException e) {
      err.println(NAME + ": cannot open the --log file: " + e.getMessage());
      return EXIT_FAILURE;
    }
    try {
      configureLogging(command);
    } catch (IOException e) {
      err.println(NAME + ": cannot open the --debug-log file: " + e.getMessage());
      return EXIT_FAILURE;
    }
    if (debug && !runsc.ignored().isEmpty()) {
      // Only with --debug: creating a logger starts SLF4J, which a one-shot command otherwise skips.
      LoggerFactory.getLogger(Main.class).debug("Ignoring runsc flags that mean nothing to a metric server: {}",
          String.join(" ", runsc.ignored()));
    }
    resolveDefaults();
    try {
      return body.call();
    } catch (ParameterException e) {
      throw e; // a usage error found while running: picocli reports it as one (onUsageError)
    } catch (CommandLine.ExecutionException e) {
      return onFailure(e.getCause() instanceof Exception cause ? cause : e);
    } catch (Exception e) {
      return onFailure(e);
    }
  }

  private void resolveDefaults() {
    if (root == null || root.isEmpty()) {
      String xdg = System.getenv("XDG_RUNTIME_DIR");
      root = xdg != null && !xdg.isEmpty() ? Path.of(xdg, "runsc").toString() : DEFAULT_ROOT;
    }
  }

  private static int onUsageError(ParameterException ex, String[] args) {
    CommandLine c = ex.getCommandLine();
    c.getErr().println(NAME + ": " + usageMessage(ex)
        + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
    return EXIT_USAGE;
  }

  /**
   * picocli's message, reworded where it speaks Java ("Unmatched argument at index 0") to a user who typed
   * a wrong command or put a global option after the command (runsc's order is the reverse).
   */
  static String usageMessage(ParameterException ex) {
    if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
      CommandSpec spec = ex.getCommandLine().getCommandSpec();
      String first = u.getUnmatched().get(0);
      if (spec.parent() == null && !first.startsWith("-")) {
        return "unknown command '" + first + "'; the commands are: " + String.join(", ", SUBCOMMANDS);
      }
      if (spec.parent() != null) {
        for (String arg : u.getUnmatched()) {
          String global = globalOptionExample(spec.root(), arg);
          if (global != null) {
            return global.split("=", 2)[0] + " is a global option: put it before the command, as runsc "
                + "does: " + NAME + " " + global + " " + spec.name() + " ...";
          }
        }
      }
    }
    if (ex instanceof CommandLine.MissingParameterException) {
      // The command is the first argument that names one (as for the launcher), so "--root demo" ends there.
      // Compiled here, on the error path: in a static field it cost every start ~2 ms of CPU (measured).
      Matcher m = Pattern.compile("Expected parameter for option '(--[^']+)' but found '([^']*)'")
          .matcher(oneLine(ex.getMessage()));
      if (m.matches() && SUBCOMMANDS.contains(m.group(2))) {
        return m.group(0) + "; a value that names a command needs '=': " + m.group(1) + "=" + m.group(2);
      }
    }
    // "positional parameter at index 0 (SHELL)" -> "SHELL"
    return oneLine(ex.getMessage()).replaceAll("positional parameter at index \\d+ \\((\\S+)\\)", "$1");
  }

  /**
   * How to write {@code arg} as a global option ({@code --root=DIR}, {@code --debug}) when it is one of
   * Main's options or runsc's global flags; else null.
   */
  private static String globalOptionExample(CommandSpec main, String arg) {
    if (!arg.startsWith("-")) {
      return null;
    }
    int eq = arg.indexOf('=');
    String name = (eq < 0 ? arg : arg.substring(0, eq)).replaceFirst("^--?", "");
    CommandLine.Model.OptionSpec ours = main.findOption("--" + name);
    if (ours != null && !ours.usageHelp() && !ours.versionHelp()) {
      return ours.typeInfo().isBoolean() ? "--" + name : "--" + name + "=" + ours.paramLabel();
    }
    if (RunscFlags.VALUED.contains(name)) {
      return "--" + name + "=VALUE";
    }
    return RunscFlags.BOOLEAN.contains(name) ? "--" + name : null;
  }

  private int onFailure(Exception ex) {
    if (ex instanceof CommandFailure f) {
      err.println(NAME + ": " + oneLine(f.getMessage()));
      if (errorLog != null) {
        RunscFlags.appendError(errorLog, oneLine(f.getMessage()));
      }
      if (debug && f.getCause() != null) {
        f.getCause().printStackTrace(err);
      }
      return f.exitCode();
    }
    // A bug, not bad input: still one line, with the details behind --debug.
    err.println(NAME + ": internal error: " + oneLine(String.valueOf(ex))
        + (debug ? "" : " (run with --debug for details)"));
    if (errorLog != null) {
      RunscFlags.appendError(errorLog, "internal error: " + oneLine(String.valueOf(ex)));
    }
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

  /**
   * Main's command line with the subcommand {@code name} registered when it is one, or with all of them
   * when {@code all} is set.
   */
  static CommandLine commandLine(Main main, String name, boolean all) {
    CommandLine cmd = new CommandLine(main);
    for (String sub : SUBCOMMANDS) {
      if (all || sub.equals(name)) {
        cmd.addSubcommand(sub, newSubcommand(sub));
      }
    }
    // What every command has, said once here rather than in each @Command: --version prints the same after
    // every command, every command has -h and -V, options are listed in the order declared, help takes the terminal's width, and the exit
    // codes (where a command lists them) have one heading. Durations are Go's (10s, 1m30s) everywhere.
    VersionProvider version = new VersionProvider(); // here, not in a constant: the fast path never needs it
    for (CommandLine sub : cmd.getSubcommands().values()) {
      CommandSpec spec = sub.getCommandSpec();
      spec.versionProvider(version);
      spec.mixinStandardHelpOptions(true);
      spec.usageMessage().sortOptions(false).autoWidth(true);
      if (!spec.usageMessage().exitCodeList().isEmpty()) {
        spec.usageMessage().exitCodeListHeading(EXIT_CODE_LIST_HEADING);
      }
    }
    cmd.registerConverter(Duration.class, new GoDurationConverter()); // an instance: see PicocliHooks
    return cmd;
  }

  /**
   * The long option names (without dashes) of the commands in {@code cmd}'s models: the ones
   * {@link GoFlags} accepts with one dash. Read from the models picocli built for this invocation, so an
   * option declared in its command class is all it takes.
   */
  static Set<String> longOptionNames(CommandLine cmd) {
    Set<String> names = new HashSet<>();
    collectLongOptionNames(cmd.getCommandSpec(), names);
    return names;
  }

  private static void collectLongOptionNames(CommandSpec spec, Set<String> names) {
    for (CommandLine.Model.OptionSpec option : spec.options()) {
      for (String name : option.names()) {
        if (name.startsWith("--")) {
          names.add(name.substring(2));
        }
      }
    }
    for (CommandLine sub : spec.subcommands().values()) {
      collectLongOptionNames(sub.getCommandSpec(), names);
    }
  }

  private static Object newSubcommand(String name) {
    return switch (name) {
      case "export-metrics" -> new ExportMetricsCommand();
      case "metric-server" -> new MetricServerCommand();
      case "simulate" -> new SimulateCommand();
      case "demo" -> new DemoCommand();
      case "stats" -> new StatsCommand();
      case "completion" -> new CompletionCommand();
      default -> throw new IllegalArgumentException("no subcommand " + name);
    };
  }

  /**
   * Whether picocli's answer may depend on the full list of subcommands: help lists them, and an unknown
   * word where the subcommand belongs is reported against them. Only then are all models built.
   */
  private static boolean needsAllSubcommands(String subcommand, String[] args) {
    if (!subcommand.isEmpty()) {
      return false;
    }
    for (String a : args) {
      if (a.equals("-h") || a.equals("--help") || a.equals("-help") || a.equals("--")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sets SLF4J simple's properties. Logs go to System.err, which is the log file when {@code --debug-log}
   * is given (slf4j-simple would truncate a file it opens itself; runsc appends).
   */
  private void configureLogging(String command) throws IOException {
    String level = debug ? "debug" : defaultLevel(command);
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
    System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
    System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
    System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
    System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "true");
    // Netty's debug output is about Netty, not about sandboxes.
    System.setProperty("org.slf4j.simpleLogger.log.io.netty", debug ? "info" : "warn");
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    if (!debugLog.isEmpty()) {
      Path file = debugLogFile(debugLog, command);
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      PrintStream log = new PrintStream(new FileOutputStream(file.toFile(), true), true, StandardCharsets.UTF_8);
      // runsc's --alsologtostderr: the log goes to the file and to stderr.
      System.setErr(runsc.alsoLogToStderr() ? RunscFlags.tee(log, err) : log);
    } else {
      System.setErr(err);
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

  /** Used by tests of the parsing without running a subcommand. */
  static ParseResult parse(String... rawArgs) {
    CommandLine cmd = commandLine(new Main(), "", true);
    cmd.setOverwrittenOptionsAllowed(true);
    return cmd.parseArgs(GoFlags.normalize(rawArgs, longOptionNames(cmd)));
  }
}
