package io.github.checkout.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.ServiceProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The served demo exposes nothing to other machines: every socket its process and its embedded
 * PostgreSQL listen on (the broker's client and controller listeners, the fixed Kafka port, the
 * HTTP and management ports, the database) is bound to a loopback address. Read from the kernel's own
 * socket tables, so it holds whatever the configuration claims.
 */
@EnabledOnOs(OS.LINUX)
class LoopbackOnlyJarIT {

    @Test
    void servedDemo_listensOnLoopbackOnly(@TempDir Path dir) throws Exception {
        try (ServiceProcess run = ServiceProcess.onItsEmbeddedDefault(dir.resolve("output.txt"), "--buyers=2", "--serve",
                "--management.server.port=0", "--server.port=0").start()) {
            run.awaitOutput("kafka-console-consumer.sh", 1, Duration.ofMinutes(3));

            Matcher database = Pattern.compile("PostgreSQL +jdbc:postgresql://[^:/]+:(\\d+)/").matcher(run.output());
            assertThat(database.find()).as(run.output()).isTrue();
            int databasePort = Integer.parseInt(database.group(1));

            Set<String> demoSockets = socketInodes(run.pid());
            List<Listening> demo = listening().stream().filter(socket -> demoSockets.contains(socket.inode())).toList();
            // PostgreSQL runs detached from the demo's process (pg_ctl starts it): found by its printed port.
            List<Listening> postgres = listening().stream().filter(socket -> socket.port() == databasePort).toList();

            // The broker's client, fixed and controller listeners, and the HTTP and management ports.
            assertThat(demo).as("the demo's own listening sockets").hasSizeGreaterThanOrEqualTo(5);
            assertThat(postgres).as("PostgreSQL's listening sockets").isNotEmpty();
            assertThat(Stream.concat(demo.stream(), postgres.stream())).allSatisfy(socket -> assertThat(socket.address().isLoopbackAddress())
                    .as("%s is bound to a loopback address (the demo's: %s, PostgreSQL's: %s)", socket, demo, postgres).isTrue());
        }
    }

    /** A listening TCP socket, as /proc/net/tcp and tcp6 show it. */
    record Listening(InetAddress address, int port, String inode) {

        @Override
        public String toString() {
            return address.getHostAddress() + ":" + port;
        }
    }

    /** Every listening TCP socket of this network namespace. */
    private static List<Listening> listening() {
        List<Listening> sockets = new ArrayList<>();
        for (String table : List.of("tcp", "tcp6")) {
            for (String line : lines(Path.of("/proc", "net", table))) {
                String[] fields = line.trim().split("\\s+");
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode: st 0A is LISTEN.
                if (fields.length > 9 && fields[3].equals("0A")) {
                    String[] local = fields[1].split(":");
                    sockets.add(new Listening(address(local[0]), Integer.parseInt(local[1], 16), fields[9]));
                }
            }
        }
        return sockets;
    }

    private static Set<String> socketInodes(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
            return fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    return "";
                }
            }).filter(link -> link.startsWith("socket:[")).map(link -> link.substring(8, link.length() - 1))
                    .collect(Collectors.toSet());
        } catch (IOException e) {
            return Set.of();
        }
    }

    /** The kernel prints an address as 32-bit words in host (little-endian) byte order. */
    private static InetAddress address(String hex) {
        byte[] words = HexFormat.of().parseHex(hex);
        byte[] bytes = new byte[words.length];
        for (int word = 0; word < words.length; word += 4) {
            for (int i = 0; i < 4; i++) {
                bytes[word + i] = words[word + 3 - i];
            }
        }
        try {
            // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) comes back as its IPv4 address.
            return InetAddress.getByAddress(bytes);
        } catch (IOException e) {
            throw new IllegalStateException(hex, e);
        }
    }

    private static List<String> lines(Path table) {
        try {
            return Files.readAllLines(table).stream().skip(1).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
