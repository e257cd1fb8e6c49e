package dev.sandboxmetrics.posix;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.Consumer;

/**
 * Handlers for POSIX signals (SIGINT, SIGTERM, SIGQUIT), which the JDK has no public API for: the metric
 * server shuts down gracefully on them as runsc's does, and the simulator cleans up.
 *
 * <p>Through {@code sun.misc.Signal} (module jdk.unsupported, the JDK's supported way), reached by
 * reflection: javac, compiling with {@code --release}, warns about every mention of it as "internal
 * proprietary API", a warning no annotation suppresses, and the build treats warnings as errors.
 */
public final class Signals {
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
}
