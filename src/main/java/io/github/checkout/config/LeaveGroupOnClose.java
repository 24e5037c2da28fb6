package io.github.checkout.config;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.CloseOptions.GroupMembershipOperation;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * Makes a consumer leave its group when it is closed, static member or not. A static member
 * ({@code group.instance.id}) otherwise stays in the group after a close: its partitions wait, unread,
 * for it to come back or for the session timeout (10 s) to expire. spring-kafka closes a stopped
 * container's consumer with a plain {@code close()}; this turns it into a close with
 * {@link GroupMembershipOperation#LEAVE_GROUP}.
 *
 * <p>A process killed with SIGKILL still sends nothing, and a restart with the same instance id still
 * takes its partitions back at once: leaving only changes a clean stop, after which the partitions go to
 * the other instances at once instead of after the session timeout. Leaving is safe against a takeover:
 * the broker accepts a leave only from the member that holds the instance id now.
 */
final class LeaveGroupOnClose {

    private static final CloseOptions LEAVE = CloseOptions.groupMembershipOperation(GroupMembershipOperation.LEAVE_GROUP);

    private LeaveGroupOnClose() {
    }

    @SuppressWarnings("unchecked")
    static <K, V> Consumer<K, V> leavingOnClose(Consumer<K, V> consumer) {
        return (Consumer<K, V>) Proxy.newProxyInstance(LeaveGroupOnClose.class.getClassLoader(), new Class<?>[] {Consumer.class},
                (proxy, method, args) -> {
                    if (isClose(method, args)) {
                        consumer.close(args == null ? LEAVE : LEAVE.withTimeout((Duration) args[0]));
                        return null;
                    }
                    try {
                        return method.invoke(consumer, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static boolean isClose(Method method, Object[] args) {
        return method.getName().equals("close")
                && (args == null || args.length == 1 && args[0] instanceof Duration);
    }
}
