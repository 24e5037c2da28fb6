package io.github.checkout;

import io.github.checkout.config.ConnectionSettings;
import io.github.checkout.messaging.ExitOnFatalConsumerStop;
import io.github.checkout.operator.OperatorCommands;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class CheckoutApplication {

    public static void main(String[] args) {
        if (OperatorCommands.isCommand(args)) {
            System.exit(OperatorCommands.run(CheckoutApplication.class, args));
        }
        SpringApplication app = new SpringApplication(CheckoutApplication.class);
        app.addListeners(new ConnectionSettings(), new ExitOnFatalConsumerStop());
        app.run(args);
    }
}
