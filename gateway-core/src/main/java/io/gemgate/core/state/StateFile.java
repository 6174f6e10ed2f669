package io.gemgate.core.state;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * The embedded state store: one {@link StateSnapshot} in {@code <dataDir>/state.json}, with the previous good copy
 * in {@code <dataDir>/state.json.bak}.
 *
 * <h2>Write protocol</h2>
 * {@link #write} does, in order:
 * <ol>
 *   <li>encode the snapshot and write it to {@code state.json.tmp}, then {@code fsync} that file;</li>
 *   <li>if {@code state.json} exists, atomically rename it to {@code state.json.bak} (replacing the old backup).
 *       If this instance has neither written nor loaded that {@code state.json} itself, it is first read and
 *       decoded; a corrupt one is moved aside to {@code state.json.corrupt-<epochMillis>} instead, so garbage never
 *       replaces a good backup;</li>
 *   <li>atomically rename {@code state.json.tmp} to {@code state.json};</li>
 *   <li>{@code fsync} the directory (skipped silently where the platform refuses to open or sync a directory).</li>
 * </ol>
 * <b>Invariant:</b> at every instant, and whatever subset of the renames survives a crash, at least one of
 * {@code state.json} / {@code state.json.bak} is a complete, fsynced, good snapshot: the temporary file is complete
 * on disk before any rename; before step 2 {@code state.json} is the last good copy; between steps 2 and 3
 * {@code state.json} is missing and {@code state.json.bak} holds the last good copy; after step 3 {@code state.json}
 * is the new copy. A kill between the two renames therefore loses nothing but the write in progress, and
 * {@link #load} restores from the backup. A leftover {@code state.json.tmp} (kill during step 1) is ignored by
 * {@link #load} and overwritten by the next write.
 *
 * <h2>Load</h2>
 * {@link #load} prefers {@code state.json}, falls back to {@code state.json.bak}, and starts empty if neither can
 * be read; see {@link Source}. Corrupt content never throws: a corrupt file is renamed to
 * {@code state.json.corrupt-<epochMillis>} (or {@code state.json.bak.corrupt-<epochMillis>}) so it is kept for
 * inspection and not overwritten, and the problem is logged at ERROR and reported in {@link LoadResult#problem()}.
 * I/O failures other than a missing file (permission denied, a directory where a file should be, a failed rename)
 * are thrown as {@link UncheckedIOException} naming the path.
 *
 * <p>Not thread-safe: the caller loads once at start-up and then writes from a single thread.
 */
public final class StateFile {

    /** File name of the current state inside the data directory. */
    public static final String PRIMARY_NAME = "state.json";
    /** File name of the previous good state inside the data directory. */
    public static final String BACKUP_NAME = "state.json.bak";
    /** rw------- : the state file, its backup and the file being written. */
    private static final Set<PosixFilePermission> OWNER_ONLY =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    /** File name of the state being written; only ever complete after its fsync. */
    public static final String TEMP_NAME = "state.json.tmp";
    /** Prefix of a corrupt {@code state.json} moved aside; followed by the epoch millis of the move. */
    public static final String CORRUPT_PRIMARY_PREFIX = "state.json.corrupt-";
    /** Prefix of a corrupt {@code state.json.bak} moved aside; followed by the epoch millis of the move. */
    public static final String CORRUPT_BACKUP_PREFIX = "state.json.bak.corrupt-";

    private static final Logger LOG = LogManager.getLogger(StateFile.class);

    private final Path dataDir;
    private final Path primary;
    private final Path backup;
    private final Path temp;
    /** True when state.json is known good: this instance wrote it, or loaded it successfully. */
    private boolean primaryTrusted;
    /** The backup's permissions were made owner-only (once per process). */
    private boolean backupChecked;

    /**
     * @param dataDir the directory holding the state files; created by the first {@link #write} if missing
     */
    public StateFile(Path dataDir) {
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
        this.primary = dataDir.resolve(PRIMARY_NAME);
        this.backup = dataDir.resolve(BACKUP_NAME);
        this.temp = dataDir.resolve(TEMP_NAME);
    }

    /** @return the data directory */
    public Path dataDir() {
        return dataDir;
    }

    /** @return {@code <dataDir>/state.json} */
    public Path primaryPath() {
        return primary;
    }

    /** @return {@code <dataDir>/state.json.bak} */
    public Path backupPath() {
        return backup;
    }

    /** Where a {@link #load} found its snapshot. */
    public enum Source {
        /** {@code state.json} was read. */
        PRIMARY,
        /** {@code state.json} was missing or corrupt; {@code state.json.bak} was read. */
        BACKUP,
        /** Neither file exists: a fresh start, not a problem. */
        NONE,
        /** Neither file could be read (corrupt, or one corrupt and the other missing): starting from empty state. */
        EMPTY_AFTER_CORRUPTION
    }

    /**
     * The outcome of {@link #load}.
     *
     * @param snapshot the loaded state; {@link StateSnapshot#empty()} for {@link Source#NONE} and
     *                 {@link Source#EMPTY_AFTER_CORRUPTION}
     * @param source   where it came from
     * @param problem  {@code ""} for {@link Source#PRIMARY} and {@link Source#NONE}; otherwise a one-line description
     *                 for operators, e.g. {@code state.json: truncated ...; restored from state.json.bak}
     */
    public record LoadResult(StateSnapshot snapshot, Source source, String problem) {
        /**
         * Checks for nulls.
         *
         * @param snapshot the loaded state
         * @param source   where it came from
         * @param problem  {@code ""} or a one-line description
         */
        public LoadResult {
            Objects.requireNonNull(snapshot, "snapshot");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(problem, "problem");
        }
    }

    /**
     * Reads the state, falling back to the backup; never throws for corrupt content (see the class documentation).
     *
     * @return the snapshot, where it came from and what went wrong
     * @throws UncheckedIOException on I/O errors other than a missing file, naming the path
     */
    public LoadResult load() {
        primaryTrusted = false;
        if (Files.exists(temp)) {
            LOG.warn("Ignoring {}: left over from an interrupted write", temp);
        }

        Attempt first = read(primary);
        if (first.snapshot != null) {
            primaryTrusted = true;
            LOG.info("Loaded state from {}: {} keys, saved at {}", primary, first.snapshot.keys().size(),
                    first.snapshot.savedAtMillis());
            return new LoadResult(first.snapshot, Source.PRIMARY, "");
        }
        String primaryProblem;
        if (first.corruption != null) {
            Path aside = moveAside(primary, CORRUPT_PRIMARY_PREFIX);
            primaryProblem = first.corruption;
            LOG.error("State file {} is corrupt ({}); moved it to {}", primary, first.corruption, aside);
        } else {
            primaryProblem = "missing";
        }

        Attempt second = read(backup);
        if (second.snapshot != null) {
            String problem = PRIMARY_NAME + ": " + primaryProblem + "; restored from " + BACKUP_NAME;
            if (first.corruption != null) {
                LOG.error("Restored state from {}: {} keys, saved at {} ({})", backup,
                        second.snapshot.keys().size(), second.snapshot.savedAtMillis(), problem);
            } else {
                LOG.warn("Restored state from {}: {} keys, saved at {} ({}; a write was probably interrupted)",
                        backup, second.snapshot.keys().size(), second.snapshot.savedAtMillis(), problem);
            }
            return new LoadResult(second.snapshot, Source.BACKUP, problem);
        }
        if (second.corruption == null && first.corruption == null) {
            LOG.info("No state in {}: starting fresh", dataDir);
            return new LoadResult(StateSnapshot.empty(), Source.NONE, "");
        }
        String backupProblem = "missing";
        if (second.corruption != null) {
            Path aside = moveAside(backup, CORRUPT_BACKUP_PREFIX);
            backupProblem = second.corruption;
            LOG.error("State backup {} is corrupt ({}); moved it to {}", backup, second.corruption, aside);
        }
        String problem = PRIMARY_NAME + ": " + primaryProblem + "; " + BACKUP_NAME + ": " + backupProblem
                + "; starting with empty state";
        LOG.error("No readable state in {} ({})", dataDir, problem);
        return new LoadResult(StateSnapshot.empty(), Source.EMPTY_AFTER_CORRUPTION, problem);
    }

    /**
     * Replaces the stored state with {@code snapshot}, keeping the previous good state as the backup; creates the
     * data directory if missing. See the class documentation for the protocol and its crash guarantees.
     *
     * @param snapshot the state to store
     * @throws UncheckedIOException if a file cannot be written, synced or renamed, naming the path; the previous
     *                              good state is then still in place
     */
    public void write(StateSnapshot snapshot) {
        Objects.requireNonNull(snapshot, "snapshot");
        byte[] bytes = StateCodec.encode(snapshot);
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create state directory " + dataDir + ": " + e.getMessage(), e);
        }
        writeAndSync(temp, bytes);
        ownerOnly(temp);
        if (!backupChecked) {
            backupChecked = true;
            ownerOnly(backup); // one written by an older version, readable by all
        }
        rotatePrimaryToBackup();
        try {
            Files.move(temp, primary, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot rename " + temp + " to " + primary + ": " + e.getMessage(), e);
        }
        syncDirectory();
        primaryTrusted = true;
    }

    private void rotatePrimaryToBackup() {
        if (!primaryTrusted) {
            byte[] current;
            try {
                current = Files.readAllBytes(primary);
            } catch (NoSuchFileException e) {
                return;
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + primary + ": " + e.getMessage(), e);
            }
            try {
                StateCodec.decode(current);
            } catch (StateCorruptException e) {
                Path aside = moveAside(primary, CORRUPT_PRIMARY_PREFIX);
                LOG.error("State file {} is corrupt ({}); moved it to {} and kept {} as the backup", primary,
                        e.getMessage(), aside, backup);
                return;
            }
        }
        try {
            Files.move(primary, backup, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (NoSuchFileException e) {
            // no current state yet (first write, or it was missing/corrupt at load): the backup stays as it is
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot rename " + primary + " to " + backup + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes {@code file} readable and writable by its owner only (0600): the state may hold keys in clear (no master
     * key). Where the file system has no POSIX permissions, it stays as the platform made it.
     */
    private static void ownerOnly(Path file) {
        try {
            Files.setPosixFilePermissions(file, OWNER_ONLY);
        } catch (NoSuchFileException | UnsupportedOperationException e) {
            // nothing to change, or no POSIX permissions here
        } catch (IOException e) {
            LOG.warn("Cannot make {} readable by its owner only: {}", file, e.toString());
        }
    }

    /** Opens {@code file} for writing, created 0600 where POSIX permissions exist (set again by the caller after). */
    private static FileChannel open(Path file) throws IOException {
        java.util.Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        try {
            return FileChannel.open(file, options,
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (UnsupportedOperationException e) {
            return FileChannel.open(file, options);
        }
    }

    private static void writeAndSync(Path file, byte[] bytes) {
        try (FileChannel ch = open(file)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private void syncDirectory() {
        try (FileChannel ch = FileChannel.open(dataDir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some platforms (Windows) cannot open or sync a directory; renames are then as durable as they get
            LOG.debug("Cannot fsync directory {}: {}", dataDir, e.toString());
        }
    }

    /** Renames a corrupt file to {@code <prefix><epochMillis>} (a free name), so the next write cannot clobber it. */
    private Path moveAside(Path file, String prefix) {
        long millis = System.currentTimeMillis();
        Path target = dataDir.resolve(prefix + millis);
        while (Files.exists(target)) {
            target = dataDir.resolve(prefix + (++millis));
        }
        try {
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot move corrupt " + file + " to " + target + ": " + e.getMessage(), e);
        }
        syncDirectory();
        return target;
    }

    /** Reads and decodes one file: exactly one of the outcomes is set, or neither if the file is missing. */
    private static Attempt read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new Attempt(null, null);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return new Attempt(StateCodec.decode(bytes), null);
        } catch (StateCorruptException e) {
            return new Attempt(null, e.getMessage());
        }
    }

    private record Attempt(StateSnapshot snapshot, String corruption) {
    }
}
