package io.github.checkout.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This instance's stable id, the base of its static group memberships and of its transactional ids.
 * Two instances running at once in one consumer group must never share it; a restart of the same
 * instance must get it back.
 *
 * <p>{@code checkout.instance-id} when set (in production: the pod name of a StatefulSet). Otherwise
 * {@code <host name>-<slot>}: the slot is the lowest number N for which this process holds an OS file
 * lock on {@code checkout-<group>-<N>.lock} in {@code java.io.tmpdir}, for each of its consumer groups.
 * The locks are held until the context closes or the process ends, however it ends, so a restart after
 * kill -9 gets the same slot while a frozen process keeps its own, and two instances on one host get
 * distinct ids.
 */
public final class InstanceId implements AutoCloseable {

    static final int MAX_SLOTS = 100;
    private static final int MAX_LENGTH = 100;
    /**
     * Slot files this JVM holds (integration tests run several contexts in one JVM). Never opened a second
     * time: closing any descriptor of a file drops every POSIX lock the process holds on it.
     */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final String value;
    private final List<Slot> slots;

    private record Slot(Path file, FileChannel channel) {
    }

    private InstanceId(String value, List<Slot> slots) {
        this.value = value;
        this.slots = slots;
    }

    /** The configured id, or the host name and the lowest slot free in every one of {@code groups}. */
    static InstanceId resolve(String configured, List<String> groups, Path lockDirectory) {
        if (configured != null) {
            return new InstanceId(configured, List.of());
        }
        String host = safe(hostName());
        for (int n = 0; n < MAX_SLOTS; n++) {
            List<Slot> held = new ArrayList<>();
            for (String group : new LinkedHashSet<>(groups)) {
                Slot slot = tryLock(lockDirectory.resolve("checkout-" + safe(group) + "-" + n + ".lock").toAbsolutePath());
                if (slot == null) {
                    release(held);
                    held = null;
                    break;
                }
                held.add(slot);
            }
            if (held != null) {
                String suffix = "-" + n;
                return new InstanceId(host.substring(0, Math.min(host.length(), MAX_LENGTH - suffix.length())) + suffix, held);
            }
        }
        throw new IllegalStateException("All " + MAX_SLOTS + " instance slots of the groups " + groups + " in " + lockDirectory
                + " are taken; set checkout.instance-id (CHECKOUT_INSTANCE_ID) to a distinct id per instance");
    }

    public String value() {
        return value;
    }

    /** True when the id was derived from the host name and a slot, not configured. */
    public boolean derived() {
        return !slots.isEmpty();
    }

    @Override
    public void close() {
        release(slots);
    }

    @Override
    public String toString() {
        return value;
    }

    private static Slot tryLock(Path file) {
        if (!HELD.add(file)) {
            return null;
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            HELD.remove(file);
            throw new UncheckedIOException("Cannot open the instance slot file " + file
                    + "; set checkout.instance-id (CHECKOUT_INSTANCE_ID) instead", e);
        }
        try {
            FileLock lock = channel.tryLock();
            if (lock != null) {
                return new Slot(file, channel);
            }
        } catch (IOException e) {
            release(List.of(new Slot(file, channel)));
            throw new UncheckedIOException("Cannot lock the instance slot file " + file
                    + "; set checkout.instance-id (CHECKOUT_INSTANCE_ID) instead", e);
        }
        release(List.of(new Slot(file, channel)));
        return null;
    }

    private static void release(List<Slot> slots) {
        for (Slot slot : slots) {
            try {
                slot.channel().close();
            } catch (IOException ignored) {
                // The lock goes with the descriptor either way.
            } finally {
                HELD.remove(slot.file());
            }
        }
    }

    private static String hostName() {
        String fromEnvironment = System.getenv("HOSTNAME");
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return fromEnvironment;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    /** Only the characters a {@code checkout.instance-id} may hold. */
    private static String safe(String name) {
        String cleaned = name.replaceAll("[^A-Za-z0-9._-]", "_");
        return cleaned.isEmpty() ? "host" : cleaned;
    }
}
