package io.github.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Released migrations never change: Flyway refuses to start on a database whose applied migration no
 * longer matches its file. Every versioned migration is pinned by its SHA-256 (line endings as LF) in
 * {@code released-migrations.sha256}; a function changes through a new migration, never an edit.
 */
class ReleasedMigrationsTest {

    private static final Path MIGRATIONS = Path.of("src", "main", "resources", "db", "migration");
    private static final Path PINS = Path.of("src", "test", "resources", "released-migrations.sha256");

    @Test
    void everyVersionedMigration_isPinnedAndUnchanged() throws IOException {
        Map<String, String> pinned = new TreeMap<>();
        for (String line : Files.readAllLines(PINS)) {
            if (!line.isBlank()) {
                String[] parts = line.trim().split("\\s+");
                pinned.put(parts[1], parts[0]);
            }
        }
        Map<String, String> actual;
        try (Stream<Path> files = Files.list(MIGRATIONS)) {
            actual = files.filter(f -> f.getFileName().toString().matches("V\\d+__.*\\.sql"))
                    .collect(Collectors.toMap(f -> f.getFileName().toString(), ReleasedMigrationsTest::sha256, (a, b) -> a, TreeMap::new));
        }

        pinned.forEach((file, checksum) -> assertThat(actual.get(file))
                .as("%s was released: it must stay as it is (change a function in a new migration)", file)
                .isEqualTo(checksum));
        actual.forEach((file, checksum) -> assertThat(pinned)
                .as("%s is not pinned: add the line \"%s  %s\" to %s when it lands", file, checksum, file, PINS)
                .containsKey(file));
    }

    private static String sha256(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8).replace("\r\n", "\n");
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
