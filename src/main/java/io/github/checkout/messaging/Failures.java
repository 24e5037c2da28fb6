package io.github.checkout.messaging;

import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.Set;
import org.apache.kafka.common.errors.RetriableException;
import org.springframework.dao.RecoverableDataAccessException;
import org.springframework.dao.TransientDataAccessException;

/**
 * The one place that tells a transient failure from a deterministic one. Transient: the database or the
 * broker is unreachable, slow, restarting or lost a race (connection refused, lost or timed out; a
 * serialization failure or deadlock; a broker that is unavailable, not the leader or moving its
 * coordinator). It says nothing about the request, and retrying the same work later succeeds.
 * Everything else may be caused by the data of a request, or be a bug: retrying it alone never helps.
 */
public final class Failures {

    /**
     * SQLSTATE classes and codes that name the infrastructure, not the data: 08 connection exception,
     * 40001 serialization_failure, 40P01 deadlock_detected, 53 insufficient resources, 55P03
     * lock_not_available, 57014 query_canceled (a statement timeout), 57P01-57P05 the server shutting
     * down, restarting or dropping the session, 58 system error (I/O), and 42501 insufficient_privilege:
     * the service's role lacks a grant (db/roles.sql), which no request's data can cause, and requests
     * wait for the administrator instead of being dead-lettered.
     */
    private static final Set<String> TRANSIENT_CLASSES = Set.of("08", "53", "58");
    private static final Set<String> TRANSIENT_STATES = Set.of(
            "40001", "40P01", "42501", "55P03", "57014", "57P01", "57P02", "57P03", "57P04", "57P05");

    private Failures() {
    }

    public static boolean isTransient(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.length() == 5 && (TRANSIENT_CLASSES.contains(state.substring(0, 2)) || TRANSIENT_STATES.contains(state))) {
                    return true;
                }
            }
            if (t instanceof SQLTransientException || t instanceof SQLRecoverableException
                    || t instanceof TransientDataAccessException || t instanceof RecoverableDataAccessException
                    || t instanceof RetriableException
                    // a connection refused, reset or timed out below the driver or the client
                    || t instanceof IOException) {
                return true;
            }
        }
        return false;
    }
}
