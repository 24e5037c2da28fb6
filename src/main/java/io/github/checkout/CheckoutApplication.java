package io.github.checkout;

import io.github.checkout.embedded.EmbeddedInfrastructure;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class CheckoutApplication {

    public static void main(String[] args) {
        SpringApplication app = new SpringApplication(CheckoutApplication.class);
        app.addListeners(new EmbeddedInfrastructure.StartWhenUnconfigured());
        app.run(args);
    }
}
