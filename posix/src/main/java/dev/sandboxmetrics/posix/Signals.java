package dev.sandboxmetrics.posix;

import com.sun.jna.Function;
import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.Consumer;

/**
 * POSIX signals, which the JDK has no public API for. {@link #handle} installs handlers (SIGINT, SIGTERM,
 * SIGQUIT): the metric server shuts down gracefully on them as runsc's does, and the simulator cleans up.
 * It goes through {@code sun.misc.Signal} (module jdk.unsupported, the JDK's supported way), reached by
 * reflection: javac, compiling with {@code --release}, warns about every mention of it as "internal
 * proprietary API", a warning no annotation suppresses, and the build treats warnings as errors.
 *
 * <p>{@link #stopIgnoring} handles what the JVM will not change for us. A process started with SIGINT or
 * SIGTERM ignored (a shell's background job, {@code trap '' INT}, {@code nohup}-like wrappers) keeps it
 * ignored under HotSpot: {@code sun.misc.Signal.handle} quietly installs nothing for a shutdown signal whose
 * inherited disposition is SIG_IGN. Go's {@code signal.Notify}, which runsc's metric server uses, re-enables
 * it. Called by the metric server's {@code ShutdownSignals} before it installs its handlers.
 */
public final class Signals {
  public static final int SIGINT = 2;
  public static final int SIGTERM = 15;

  private static final long SIG_IGN = 1;

  /** More than {@code struct sigaction} takes on any Linux ABI (152 bytes on x86-64 and arm64). */
  private static final int SIGACTION_BYTES = 256;

  private static final Class<?> SIGNAL;
  private static final Class<?> HANDLER;
  private static final Method HANDLE;
  private static final Method GET_NAME;

  static {
    try {
      SIGNAL = Class.forName("sun.misc.Signal");
      HANDLER = Class.forName("sun.misc.SignalHandler");
      HANDLE = SIGNAL.getMethod("handle", SIGNAL, HANDLER);
      GET_NAME = SIGNAL.getMethod("getName");
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private Signals() {}

  /**
   * From now on, calls {@code handler} with the signal's name ({@code "TERM"}) on the JVM's signal thread
   * each time signal {@code name} arrives, instead of the JVM's own reaction.
   *
   * @param name the signal's name without {@code SIG}: {@code INT}, {@code TERM}, {@code QUIT}...
   * @throws IllegalArgumentException when the JVM does not let us handle it (HotSpot keeps SIGQUIT for its
   *     thread dumps unless started with {@code -Xrs}), or knows no such signal
   */
  public static void handle(String name, Consumer<String> handler) {
    Object proxy =
        Proxy.newProxyInstance(
            Signals.class.getClassLoader(),
            new Class<?>[] {HANDLER},
            (self, method, args) -> {
              switch (method.getName()) {
                case "handle":
                  handler.accept((String) GET_NAME.invoke(args[0]));
                  return null;
                case "hashCode":
                  return System.identityHashCode(self);
                case "equals":
                  return self == args[0];
                default:
                  return "handler of SIG" + name;
              }
            });
    try {
      HANDLE.invoke(null, SIGNAL.getConstructor(String.class).newInstance(name), proxy);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof IllegalArgumentException refused) {
        throw refused;
      }
      throw new IllegalStateException("cannot handle SIG" + name + ": " + e.getCause(), e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot handle SIG" + name + ": " + e, e);
    }
  }

  /**
   * Sets {@code signal} back to its default disposition when it is ignored, so that a handler can then be
   * installed; returns whether it was ignored. The handler (the first field of {@code struct sigaction} on
   * Linux) is only read, never replaced, when the signal is not ignored.
   */
  public static boolean stopIgnoring(int signal) throws LastErrorException {
    Function sigaction = LibC.function("sigaction");
    try (Memory old = new Memory(SIGACTION_BYTES)) {
      old.clear();
      sigaction.invokeInt(new Object[] {signal, null, old});
      if (Pointer.nativeValue(old.getPointer(0)) != SIG_IGN) {
        return false;
      }
    }
    // SIG_DFL is the null handler. Between this call and the caller's handler a signal would end the
    // process unhandled; the caller installs its handler right after, at start-up.
    LibC.function("signal").invokePointer(new Object[] {signal, null});
    return true;
  }
}
