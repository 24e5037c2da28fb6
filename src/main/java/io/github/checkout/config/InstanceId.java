package io.github.checkout.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This instance's stable id, the base of its static group membership and of its transactional ids.
 * Two instances running at once must never share it; a restart of the same instance must get it back.
 *
 * <p>{@code checkout.instance-id} when set (in production: the pod name of a StatefulSet). Otherwise
 * {@code <host name>-<slot>}: the slot is the lowest number N for which this process holds an OS file
 * lock on {@code checkout-<group>-<N>.lock} in {@code java.io.tmpdir}. The lock is held until the
 * context closes or the process ends, however it ends, so a restart after kill -9 gets the same slot
 * while a frozen process keeps its own, and two instances on one host get distinct ids.
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
    private final Path slotFile;
    private final FileChannel slot;

    private InstanceId(String value, Path slotFile, FileChannel slot) {
        this.value = value;
        this.slotFile = slotFile;
        this.slot = slot;
    }

    /** The configured id, or the host name and the lowest free slot of {@code group} in {@code lockDirectory}. */
    static InstanceId resolve(String configured, String group, Path lockDirectory) {
        if (configured != null) {
            return new InstanceId(configured, null, null);
        }
        String host = safe(hostName());
        for (int n = 0; n < MAX_SLOTS; n++) {
            Path file = lockDirectory.resolve("checkout-" + safe(group) + "-" + n + ".lock").toAbsolutePath();
            if (!HELD.add(file)) {
                continue;
            }
            FileChannel channel = tryLock(file);
            if (channel == null) {
                HELD.remove(file);
                continue;
            }
            String suffix = "-" + n;
            return new InstanceId(host.substring(0, Math.min(host.length(), MAX_LENGTH - suffix.length())) + suffix, file, channel);
        }
        throw new IllegalStateException("All " + MAX_SLOTS + " instance slots of group " + group + " in " + lockDirectory
                + " are taken; set checkout.instance-id (CHECKOUT_INSTANCE_ID) to a distinct id per instance");
    }

    public String value() {
        return value;
    }

    /** True when the id was derived from the host name and a slot, not configured. */
    public boolean derived() {
        return slot != null;
    }

    @Override
    public void close() throws IOException {
        if (slot != null) {
            try {
                slot.close();
            } finally {
                HELD.remove(slotFile);
            }
        }
    }

    @Override
    public String toString() {
        return value;
    }

    private static FileChannel tryLock(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open the instance slot file " + file
                    + "; set checkout.instance-id (CHECKOUT_INSTANCE_ID) instead", e);
        }
        try {
            FileLock lock = channel.tryLock();
            if (lock != null) {
                return channel;
            }
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("Cannot lock the instance slot file " + file
                    + "; set checkout.instance-id (CHECKOUT_INSTANCE_ID) instead", e);
        }
        closeQuietly(channel);
        return null;
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing was locked through it.
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
