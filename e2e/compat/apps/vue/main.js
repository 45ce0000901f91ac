// The quick-start's main.js (Vite's Vue template).
import { createApp } from 'vue';
import App from './App.vue';

createApp(App).mount('#app');
