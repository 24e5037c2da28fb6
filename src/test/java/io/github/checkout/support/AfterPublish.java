package io.github.checkout.support;

import org.aopalliance.intercept.MethodInterceptor;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * A fault injected into the purchase listener's batch (or, by the publisher's bean name, the refund
 * listener's) right after its outcomes were handed to the transactional producer, before the Kafka
 * transaction commits: for a test's own {@code @Bean}.
 */
public final class AfterPublish {

    /** What to do after each publish; it may throw to fail the batch. */
    public interface Fault {
        void afterPublish() throws Exception;
    }

    private AfterPublish() {
    }

    public static BeanPostProcessor inject(Fault fault) {
        return inject("outcomePublisher", fault);
    }

    /** After each publish of the named publisher bean, such as {@code refundOutcomePublisher}. */
    public static BeanPostProcessor inject(String publisher, Fault fault) {
        return new BeanPostProcessor() {
            @Override
            public Object postProcessAfterInitialization(Object bean, String name) {
                if (!name.equals(publisher)) {
                    return bean;
                }
                ProxyFactory proxy = new ProxyFactory(bean);
                proxy.setProxyTargetClass(true);
                proxy.addAdvice((MethodInterceptor) call -> {
                    Object result = call.proceed();
                    if (call.getMethod().getName().equals("publish")) {
                        fault.afterPublish();
                    }
                    return result;
                });
                return proxy.getProxy();
            }
        };
    }
}
