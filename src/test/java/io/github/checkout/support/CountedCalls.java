package io.github.checkout.support;

import java.util.Map;
import org.aopalliance.intercept.MethodInterceptor;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * Counts the calls into one bean per calling thread, for a test's own {@code @Bean}: on a gateway, how
 * often each consumer thread tried to decide a batch.
 */
public final class CountedCalls {

    private CountedCalls() {
    }

    /** @param calls a concurrent map, filled with the thread name and its number of calls */
    public static BeanPostProcessor of(String beanName, Map<String, Integer> calls) {
        return new BeanPostProcessor() {
            @Override
            public Object postProcessAfterInitialization(Object bean, String name) {
                if (!name.equals(beanName)) {
                    return bean;
                }
                ProxyFactory proxy = new ProxyFactory(bean);
                proxy.addAdvice((MethodInterceptor) call -> {
                    calls.merge(Thread.currentThread().getName(), 1, Integer::sum);
                    return call.proceed();
                });
                return proxy.getProxy();
            }
        };
    }
}
