package io.github.checkout.config;

import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.springframework.boot.flyway.autoconfigure.FlywayConfigurationCustomizer;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Tells the migrations which role the service connects as, the Flyway placeholder {@value #PLACEHOLDER}:
 * {@code db/migration/afterMigrate.sql} grants it what the service calls. That is the user of the
 * service's datasource, whoever migrates ({@code spring.flyway.user}, the schema's owner, when set); so the
 * grants always go to the role that runs, and no setting can name another. One set explicitly
 * ({@code spring.flyway.placeholders.service_role}, a group role of the service's login roles) is kept.
 */
@Component
class ServiceRole implements FlywayConfigurationCustomizer {

    static final String PLACEHOLDER = "service_role";

    private final DataSource dataSource;

    ServiceRole(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public void customize(FluentConfiguration configuration) {
        Map<String, String> placeholders = new HashMap<>(configuration.getPlaceholders());
        placeholders.computeIfAbsent(PLACEHOLDER,
                name -> JdbcClient.create(dataSource).sql("select current_user").query(String.class).single());
        configuration.placeholders(placeholders);
    }
}
